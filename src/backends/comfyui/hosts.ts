// The hosts of one ComfyUI project and what each speaks. A host has either the jobs API
// (/api/jobs/{id}) or only the legacy routes (/queue, /history/{id}). With `api: auto` each host is
// probed on first use (GET /api/jobs/<random uuid>: JSON 404 {"error":"Job not found"} ⇒ jobs API; a
// non-JSON 404 or a 405 ⇒ legacy); a probe that fails because the host is down is not remembered.
// The server behind a host can change both ways: a plain 404 on a jobs route marks it legacy
// (jobs-api.ts, listing.ts), and a legacy host is probed again once RECHECK_LEGACY_MS has passed, so an
// upgraded server is noticed without a restart.
import { randomUUID } from 'node:crypto';
import type { ComfyuiBackendConfig } from './config.ts';
import type { JobStatusReport } from '../../jobs/model.ts';
import type { AdapterOptions } from '../http/adapter-options.ts';
import { createHttpClient, unexpectedStatus } from '../http/http-client.ts';
import type { ApiKind, Host } from './host.ts';
import { lookupJobs, parseJob } from './jobs-api.ts';
import { legacyReads, lookupLegacy } from './legacy-api.ts';
import { jsonErrorIs } from './responses.ts';

export interface HostPool {
  readonly hosts: readonly Host[];
  byName(name: string): Host | undefined;
  apiOf(host: Host, signal: AbortSignal): Promise<ApiKind>;
  /** The job as one host sees it (found: false when the host has no record). */
  lookup(host: Host, id: string, signal: AbortSignal, withPosition: boolean): Promise<JobStatusReport>;
  close(): Promise<void>;
}

/**
 * Largest answer read from a host. GET /queue carries the full graph of every queued prompt (a busy
 * host with large workflows easily exceeds the client's 1 MiB default), and there is no smaller legacy
 * way to see the queue.
 */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * How long a host found legacy is taken as legacy before it is probed again: an upgrade to the jobs API
 * is noticed within a minute, for one request a minute per host in use.
 */
export const RECHECK_LEGACY_MS = 60_000;

export function createHostPool(config: ComfyuiBackendConfig, options: AdapterOptions): HostPool {
  const configuredApi = config.api ?? 'auto';
  const now = options.now ?? Date.now;
  /** Aborts probes and shared reads when the adapter closes (each serves many callers, so no caller's signal owns it). */
  const lifetime = new AbortController();
  const hosts: Host[] = config.hosts.map((h) => {
    const client = createHttpClient({
      name: `${options.name}/${h.name}`,
      baseUrl: h.url,
      ...(h.headers ? { headers: h.headers } : {}),
      timeoutMs: config.timeout_ms ?? options.timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      observe: options.observe,
      trace: options.trace,
    });
    return {
      name: h.name,
      client,
      publicUrl: h.public_url?.replace(/\/+$/, ''),
      detects: configuredApi === 'auto',
      api: configuredApi === 'auto' ? undefined : configuredApi,
      legacySince: undefined,
      probing: undefined,
      legacy: legacyReads({ name: h.name, client }, lifetime.signal),
    };
  });
  const byName = new Map(hosts.map((h) => [h.name, h]));

  async function apiOf(host: Host, signal: AbortSignal): Promise<ApiKind> {
    if (host.detects && host.api === 'legacy' && !host.probing) {
      host.legacySince ??= now();
      if (now() - host.legacySince >= RECHECK_LEGACY_MS) {
        host.legacySince = now();
        // A probe that cannot tell (the host is down, answers 5xx…) leaves the host legacy: the call
        // goes on with the legacy routes, and their own answer says whether the host is reachable.
        host.probing = probe(host, lifetime.signal, now)
          .catch((): ApiKind => 'legacy')
          .finally(() => {
            host.probing = undefined;
          });
      }
    }
    if (host.probing) return withSignal(host.probing, signal);
    if (host.api) return host.api;
    host.probing = probe(host, lifetime.signal, now).finally(() => {
      host.probing = undefined;
    });
    return withSignal(host.probing, signal);
  }

  return {
    hosts,
    byName: (name) => byName.get(name),
    apiOf,
    async lookup(host, id, signal, withPosition) {
      const api = await apiOf(host, signal);
      return api === 'jobs' ? lookupJobs(host, id, signal, withPosition) : lookupLegacy(host, id, signal);
    },
    async close() {
      lifetime.abort();
      await Promise.allSettled(hosts.map((h) => h.client.close()));
    },
  };
}

async function probe(host: Host, signal: AbortSignal, now: () => number): Promise<ApiKind> {
  const id = randomUUID();
  const res = await host.client.call({ action: 'probe_jobs_api', method: 'GET', path: ['api', 'jobs', id], jobId: id, signal });
  let kind: ApiKind;
  if (res.status === 404) kind = jsonErrorIs(res, 'Job not found') ? 'jobs' : 'legacy';
  else if (res.status === 405) kind = 'legacy';
  else if (res.status === 200) {
    parseJob(host, res); // a job under a random id: odd, but it is the jobs API answering
    kind = 'jobs';
  } else throw unexpectedStatus(host.client.name, res); // down, auth, …: not remembered
  host.api = kind;
  host.legacySince = kind === 'legacy' ? now() : undefined;
  return kind;
}

/** Waits for a shared promise, but gives up when this caller's signal aborts. */
function withSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
