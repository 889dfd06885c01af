// What every simulated backend offers to the sandbox runner and to tests. The toolkit knows no kind:
// each kind's simulation names its services, and the backend registry derives the closed set.
import { createHash } from 'node:crypto';
import type { SimServer } from './sim-server.ts';

/** The states the sandbox seeds jobs in, so a newcomer can try each one. */
export const SEED_STATES = ['queued', 'running', 'long_running', 'succeeded', 'failed', 'cancelled'] as const;
export type SeedState = (typeof SEED_STATES)[number];

export interface Simulation<Service extends string = string> {
  /** The service this simulation is (sandbox.services[].kind, the sandbox CLI's --kind). */
  readonly kind: Service;
  readonly server: SimServer;
  /** Ids of seeded jobs by the state they start in. */
  readonly seeds: Readonly<Record<SeedState, readonly string[]>>;
  close(): Promise<void>;
}

/**
 * A deterministic canonical lowercase UUID (version 5 layout) for seeded job `n` of a simulation,
 * so the printed ids stay the same from run to run and two simulated hosts never share an id.
 */
export function seededUuid(namespace: string, n: number): string {
  const h = createHash('sha1').update(`${namespace}:${n}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** One point of a simulated job's timeline: the job is in `status` from clock time `at` on. */
export interface TimelineStep<S extends string> {
  status: S;
  at: number;
}

/**
 * The step a job is in at time `t`: the last one that has begun (the first one before the job exists);
 * a terminal step ends the timeline, so later steps never apply.
 */
export function stepAt<S extends string>(steps: readonly TimelineStep<S>[], terminal: ReadonlySet<S>, t: number): TimelineStep<S> {
  let cur = steps[0]!;
  for (const s of steps) {
    if (s.at > t) break;
    cur = s;
    if (terminal.has(s.status)) break;
  }
  return cur;
}

/**
 * The seed lists of a simulation. Unless `enabled` is false, `fill` adds the jobs, taking their ids from
 * `nextId` (seededUuid of `namespace`, counting from 0); the lists are frozen afterwards.
 */
export function buildSeeds(
  enabled: boolean | undefined,
  namespace: string,
  fill: (seeds: Record<SeedState, string[]>, nextId: () => string) => void,
): Readonly<Record<SeedState, readonly string[]>> {
  const seeds = Object.fromEntries(SEED_STATES.map((s) => [s, [] as string[]])) as Record<SeedState, string[]>;
  if (enabled !== false) {
    let n = 0;
    fill(seeds, () => seededUuid(namespace, n++));
  }
  for (const s of SEED_STATES) Object.freeze(seeds[s]);
  return seeds;
}
