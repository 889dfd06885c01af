// ComfyUI adapter (docs/backends.md, ComfyUI): one project, one or more self-hosted ComfyUI hosts.
// The parts:
// job-id.ts      which prompt ids are accepted (any string an older server could hold)
// hosts.ts       the hosts, the jobs-API probe, one host's lookup
// routing.ts     which host has a job (parallel search, job → host memory)
// jobs-api.ts    /api/jobs/{id} and its cancel (newer servers)
// legacy-api.ts  /queue, /history/{id}, /queue {delete}, /interrupt (every server)
// shared-read.ts one /queue (or /history/{id}) read shared by the calls waiting for it
// mapping.ts     ComfyUI records → the unified status report
// cancel.ts      the cancel flow (read, act, read again)
// listing.ts     list_jobs: every host newest first, merged
// tombstones.ts  jobs the gateway removed from a queue (ComfyUI forgets them)
// schemas.ts, responses.ts: answer shapes, reading answers
// The tombstones and the job → host memory are shared maps in the state store (src/state/).
import type { ComfyuiBackendConfig } from './config.ts';
import { assertJobId, type BackendCallContext, type BackendCancelContext, type JobBackend } from '../../jobs/backend.ts';
import { notFoundReport, type CancelReport, type JobStatusReport } from '../../jobs/model.ts';
import type { AdapterOptions } from '../http/adapter-options.ts';
import { cancelJob } from './cancel.ts';
import { createHostPool } from './hosts.ts';
import { listComfyui } from './listing.ts';
import { validatePromptId } from './job-id.ts';
import { createRouter } from './routing.ts';
import { createTombstones } from './tombstones.ts';

export { REMOVED_BY_GATEWAY } from './tombstones.ts';

export function createComfyuiBackend(config: ComfyuiBackendConfig, options: AdapterOptions): JobBackend<'comfyui'> {
  const now = options.now ?? Date.now;
  const pool = createHostPool(config, options);
  const router = createRouter(pool, options.state, options.name, now);
  const tombstones = createTombstones(options.state, options.name, now);

  async function getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport> {
    assertJobId(validatePromptId, jobId);
    const s = await router.search(jobId, ctx.signal, true, ctx.charge);
    if (s.found) return s.found.report;
    const tomb = await tombstones.holding(jobId, s.notFoundOn);
    if (tomb !== undefined) return tombstones.report(jobId, tomb);
    if (s.errors.length) throw router.searchError(jobId, s);
    return notFoundReport();
  }

  async function cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport> {
    assertJobId(validatePromptId, jobId);
    return cancelJob({ pool, router, tombstones }, jobId, ctx.signal, ctx.charge);
  }

  return {
    kind: 'comfyui',
    name: options.name,
    validateJobId: validatePromptId,
    getStatus,
    cancel,
    list: (q) => listComfyui(pool, tombstones, q),
    close: () => pool.close(),
  };
}
