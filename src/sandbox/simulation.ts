// What every simulated backend offers to the sandbox runner and to tests.
import { createHash } from 'node:crypto';
import type { SimServer } from './sim-server.ts';

/** The states the sandbox seeds jobs in, so a newcomer can try each one. */
export const SEED_STATES = ['queued', 'running', 'long_running', 'succeeded', 'failed', 'cancelled'] as const;
export type SeedState = (typeof SEED_STATES)[number];

export interface Simulation {
  readonly kind: 'comfyui' | 'comfyui_legacy' | 'agent_jobs' | 'project_runtime' | 'comfycontrol';
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
