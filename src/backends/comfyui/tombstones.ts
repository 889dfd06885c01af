// ComfyUI forgets a job removed from its pending queue (it never enters history). The adapter keeps
// a bounded, per-instance tombstone of the jobs *it* removed, so a later status says `cancelled` and a
// later cancel `already_terminal` instead of unknown / not_found. The tombstones live in this process
// only: another replica, or this one after a restart, answers unknown for such a job.
import type { JobStatusReport } from '../../jobs/model.ts';
import { BoundedMap } from './bounded-map.ts';

/** Tombstones kept at most, and for how long. */
const TOMBSTONE_MAX = 10_000;
const TOMBSTONE_MAX_AGE_MS = 7 * 24 * 3600_000;

/**
 * What `raw_status` says for a job the gateway removed from a ComfyUI queue. ComfyUI itself has no
 * word for it (the job simply vanishes), so this states what happened rather than quoting the backend.
 */
export const REMOVED_BY_GATEWAY = 'removed from queue by the gateway';

export interface Tombstones {
  /** The gateway removed `id` from the pending queue of host `host`. */
  remember(id: string, host: string): void;
  /** The host the gateway removed `id` from, if it did. */
  hostOf(id: string): string | undefined;
  /** The host of a tombstone that holds: that host answered and no longer knows the job. */
  holding(id: string, notFoundOn: ReadonlySet<string>): string | undefined;
  /** The status of a job the gateway removed from `host`'s queue. */
  report(id: string, host: string): JobStatusReport;
}

export function createTombstones(now: () => number): Tombstones {
  const removed = new BoundedMap<string>(TOMBSTONE_MAX, TOMBSTONE_MAX_AGE_MS, now);
  return {
    remember: (id, host) => removed.set(id, host),
    hostOf: (id) => removed.get(id),
    holding(id, notFoundOn) {
      const host = removed.get(id);
      return host !== undefined && notFoundOn.has(host) ? host : undefined;
    },
    report(id, host) {
      const at = removed.timeOf(id);
      return {
        found: true,
        status: 'cancelled',
        raw_status: REMOVED_BY_GATEWAY,
        host,
        ...(at !== undefined ? { completed_at: new Date(at).toISOString() } : {}),
      };
    },
  };
}
