// Which host has a job. A job is looked for on every host in parallel; the host that had it is
// remembered (bounded, in the state store: with `store: redis` a host one replica found serves every
// replica), and later calls go straight there. A host that cannot answer is never taken as "not
// there": if no other host knows the job, the answer is the host's error, not unknown. Asking every
// host costs the caller's budget one call per host beyond the first (the call paid for one).
import { BackendError, isBackendError } from '../../jobs/backend-error.ts';
import { chargeFanOut, type BudgetCharge } from '../../jobs/budget.ts';
import type { JobStatusReport } from '../../jobs/model.ts';
import type { StateStore } from '../../state/store.ts';
import { createRedactor, excerpt } from '../http/redact.ts';
import type { Host } from './host.ts';
import type { HostPool } from './hosts.ts';

/** Job → host memory: entries kept at most (forgotten oldest first; never by age). */
const HOST_MEMORY_MAX = 10_000;

export interface Search {
  /** The host that knows the job, and what it said. */
  found?: { host: Host; report: JobStatusReport };
  /** Hosts that answered and do not know the job. */
  notFoundOn: Set<string>;
  /** Hosts that could not answer. */
  errors: Array<{ host: Host; error: unknown }>;
}

export interface Router {
  /**
   * Asks the remembered host, or every host in parallel; settles as soon as one host knows the job.
   * Asking every host charges the caller for the hosts beyond the first (`charge`), before any is
   * asked: a spent budget is RATE_LIMITED (CallerBudgetSpent) and no host is asked.
   */
  search(id: string, signal: AbortSignal, withPosition: boolean, charge?: BudgetCharge): Promise<Search>;
  /** The error to raise when no host knows the job and some host could not answer. */
  searchError(id: string, s: Search): BackendError;
}

/** `backend` names the memory in the store: each ComfyUI backend has its own. */
export function createRouter(pool: HostPool, store: StateStore, backend: string, now: () => number): Router {
  /** Which host had a job. */
  const jobHost = store.map<string>({
    name: `comfyui:${backend}:job-host`,
    maxEntries: HOST_MEMORY_MAX,
    maxAgeMs: Infinity,
    now,
    parse: (v) => (typeof v === 'string' ? v : undefined),
  });

  async function search(id: string, signal: AbortSignal, withPosition: boolean, charge?: BudgetCharge): Promise<Search> {
    const remembered = (await jobHost.get(id))?.value;
    // A name from the store that is no host of this config (any more) is ignored: every host is asked.
    const rememberedHost = remembered === undefined ? undefined : pool.byName(remembered);
    const candidates = rememberedHost ? [rememberedHost] : pool.hosts;
    await chargeFanOut(charge, candidates.length - 1, `Looking for job ${id} on the project's ${candidates.length} ComfyUI hosts`);
    const stop = new AbortController();
    const combined = AbortSignal.any([signal, stop.signal]);
    const result: Search = { notFoundOn: new Set(), errors: [] };
    return new Promise<Search>((resolve, reject) => {
      let pending = candidates.length;
      let settled = false;
      const finish = () => {
        if (settled || --pending > 0) return;
        settled = true;
        if (signal.aborted) reject(signal.reason);
        else resolve(result);
      };
      for (const host of candidates) {
        pool.lookup(host, id, combined, withPosition).then(
          (report) => {
            if (settled) return;
            if (report.found) {
              settled = true;
              stop.abort(); // the other hosts' answers are no longer needed
              // Written before answering, so the next call through any replica goes straight there.
              const found = { ...result, found: { host, report } };
              void (remembered === host.name ? Promise.resolve() : jobHost.set(id, host.name)).then(() => resolve(found));
              return;
            }
            result.notFoundOn.add(host.name);
            finish();
          },
          (error: unknown) => {
            if (!settled) result.errors.push({ host, error });
            finish();
          },
        );
      }
    });
  }

  function searchError(id: string, s: Search): BackendError {
    const first = s.errors[0]!;
    const e = first.error;
    // Only the adapter's own sentences reach the caller; an unexpected exception's text goes to the log.
    const base = isBackendError(e)
      ? e
      : new BackendError(
          'BACKEND_UNAVAILABLE',
          `ComfyUI host "${first.host.name}" could not be asked: the gateway failed while calling it.`,
          {
            cause: e,
            detail: oneLine(e),
          },
        );
    if (pool.hosts.length === 1) return base;
    const missing = [...s.notFoundOn];
    const unreachable = s.errors.map((x) => `"${x.host.name}"`).join(', ');
    const where = missing.length ? `host(s) ${missing.map((n) => `"${n}"`).join(', ')} do not know job ${id}, and ` : '';
    return new BackendError(
      base.code,
      `${where}ComfyUI host(s) ${unreachable} could not be asked, so the job may be there: ${base.message}`,
      {
        ...(base.httpStatus !== undefined ? { httpStatus: base.httpStatus } : {}),
        ...(base.retryAfterSeconds !== undefined ? { retryAfterSeconds: base.retryAfterSeconds } : {}),
        cause: e,
        detail: base.detail,
      },
    );
  }

  return { search, searchError };
}

const redactCredentials = createRedactor();

/** An unexpected exception, as one redacted line for the log (it may quote what a host sent). */
function oneLine(e: unknown): string {
  return excerpt(e instanceof Error ? `${e.name}: ${e.message}` : String(e), redactCredentials);
}
