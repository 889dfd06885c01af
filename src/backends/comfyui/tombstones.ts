// ComfyUI forgets a job removed from its pending queue (it never enters history). The adapter keeps a
// bounded tombstone of each job *it* removed, so a later status says `cancelled`, a later cancel
// `already_terminal` instead of unknown / not_found, and a listing shows the job as cancelled. The tombstones are a shared map in the state
// store: with `store: redis` every replica knows what any of them removed (see src/state/shared-map.ts
// for what a store outage costs).
import type { JobStatusReport } from '../../jobs/model.ts';
import type { StateStore } from '../../state/store.ts';

/** Tombstones kept at most, and for how long. */
const TOMBSTONE_MAX = 10_000;
const TOMBSTONE_MAX_AGE_MS = 7 * 24 * 3600_000;

/**
 * What `raw_status` says for a job the gateway removed from a ComfyUI queue. ComfyUI itself has no
 * word for it (the job simply vanishes), so this states what happened rather than quoting the backend.
 */
export const REMOVED_BY_GATEWAY = 'removed from queue by the gateway';

/** The gateway removed a job from the pending queue of `host`, at `at` (ms since the epoch). */
export interface Tombstone {
  host: string;
  at: number;
}

export interface Tombstones {
  /** The gateway removed `id` from the pending queue of host `host`. */
  remember(id: string, host: string): Promise<void>;
  /** The tombstone of `id`, if the gateway removed it. */
  find(id: string): Promise<Tombstone | undefined>;
  /** The tombstone of `id` if it holds: its host answered and no longer knows the job. */
  holding(id: string, notFoundOn: ReadonlySet<string>): Promise<Tombstone | undefined>;
  /** The status of a job the gateway removed from a queue. */
  report(id: string, tomb: Tombstone): JobStatusReport;
  /** Jobs the gateway removed, newest removal first, from `offset` on (at most `count`): every replica's with a shared store. */
  newest(offset: number, count: number): Promise<Array<{ id: string; tomb: Tombstone }>>;
}

/** `backend` names the map in the store: each ComfyUI backend has its own tombstones. */
export function createTombstones(store: StateStore, backend: string, now: () => number): Tombstones {
  const removed = store.map<string>({
    name: `comfyui:${backend}:tombstones`,
    maxEntries: TOMBSTONE_MAX,
    maxAgeMs: TOMBSTONE_MAX_AGE_MS,
    now,
    parse: (v) => (typeof v === 'string' ? v : undefined),
  });
  async function find(id: string): Promise<Tombstone | undefined> {
    const e = await removed.get(id);
    return e === undefined ? undefined : { host: e.value, at: e.at };
  }
  return {
    remember: (id, host) => removed.set(id, host),
    find,
    async holding(id, notFoundOn) {
      const tomb = await find(id);
      return tomb !== undefined && notFoundOn.has(tomb.host) ? tomb : undefined;
    },
    async newest(offset, count) {
      return (await removed.newest(offset, count)).map(([id, e]) => ({ id, tomb: { host: e.value, at: e.at } }));
    },
    report(_id, tomb) {
      return {
        found: true,
        status: 'cancelled',
        raw_status: REMOVED_BY_GATEWAY,
        host: tomb.host,
        completed_at: new Date(tomb.at).toISOString(),
      };
    },
  };
}
