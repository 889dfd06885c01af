// The jobs API of newer ComfyUI servers: GET /api/jobs/{id}, the compact pending list for the queue
// position, and POST /api/jobs/{id}/cancel. Neither route checks the id's form: an id that is not a
// canonical UUID is looked up verbatim, so a newer server answers a true "Job not found" for it (it
// could not have accepted the id) and a server from between the jobs API and the id check finds it.
import { notFoundReport, type JobStatusReport } from '../../jobs/model.ts';
import { parseJson, unexpectedStatus, type HttpResponse } from '../http/http-client.ts';
import type { Host } from './host.ts';
import { isCanonicalPromptId, isRoutable } from './job-id.ts';
import { lookupLegacy } from './legacy-api.ts';
import { aheadOf, fromJobObject } from './mapping.ts';
import { badShape, isJsonObject, safeJson } from './responses.ts';
import { cancelAnswerSchema, jobListSchema, jobSchema, type JobObject } from './schemas.ts';

export async function lookupJobs(host: Host, id: string, signal: AbortSignal, withPosition: boolean): Promise<JobStatusReport> {
  // An id no path can name is read through /queue and /history, which every server has.
  if (!isRoutable(id)) return lookupLegacy(host, id, signal);
  const res = await host.client.call({ action: 'get_job', method: 'GET', path: ['api', 'jobs', id], jobId: id, signal });
  if (res.status === 404) {
    if (isJsonObject(res)) return notFoundReport();
    // A plain 404 on the jobs route. Only for a UUID does it prove that the server behind this host no
    // longer has the jobs API (downgraded or replaced): with `auto` the host is then taken as legacy,
    // else it is a config error. Another id may be one the web server does not route, so it is read
    // the legacy way this once.
    if (!isCanonicalPromptId(id)) return lookupLegacy(host, id, signal);
    if (host.detects) {
      host.api = 'legacy';
      return lookupLegacy(host, id, signal);
    }
    throw unexpectedStatus(host.client.name, res);
  }
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const job = parseJob(host, res);
  // Ids compare exactly: an answer about any other id (even one differing in case) is not this job's.
  if (job.id !== id) throw badShape(host, res, 'the jobs API answered with the record of a different job than the one asked for');
  const report = fromJobObject(job, host);
  if (job.status === 'pending' && withPosition) {
    const position = await pendingPosition(host, job, signal);
    if (position !== undefined) return { ...report, queue_position: position };
  }
  return report;
}

export function parseJob(host: Host, res: HttpResponse): JobObject {
  const parsed = jobSchema.safeParse(parseJson(host.client.name, res));
  if (!parsed.success) throw badShape(host, res, 'the jobs API answered a job without a known id and status');
  return parsed.data;
}

/**
 * Jobs ahead of a pending job, from the compact pending list. The position is extra information: if
 * it cannot be read (or the job started meanwhile) it is left out; the status stays as read.
 */
async function pendingPosition(host: Host, job: JobObject, signal: AbortSignal): Promise<number | undefined> {
  try {
    const res = await host.client.call({
      action: 'list_pending',
      method: 'GET',
      path: ['api', 'jobs'],
      query: { status: 'pending' },
      signal,
    });
    if (res.status !== 200) return undefined;
    const list = jobListSchema.safeParse(safeJson(res.text));
    if (!list.success) return undefined;
    const mine = list.data.jobs.find((j) => j.id === job.id);
    if (!mine || typeof mine.priority !== 'number') return undefined;
    const priority = mine.priority;
    return list.data.jobs.filter((j) => j.id !== job.id && typeof j.priority === 'number' && aheadOf(j.priority, j.id, priority, mine.id))
      .length;
  } catch (e) {
    if (signal.aborted) throw e;
    return undefined;
  }
}

/** POST /api/jobs/{id}/cancel: whether ComfyUI acted (dequeued or interrupted the job). */
export async function requestCancel(host: Host, id: string, signal: AbortSignal): Promise<boolean> {
  const res = await host.client.call({ action: 'cancel_job', method: 'POST', path: ['api', 'jobs', id, 'cancel'], jobId: id, signal });
  if (res.status !== 200) throw unexpectedStatus(host.client.name, res);
  const answer = cancelAnswerSchema.safeParse(parseJson(host.client.name, res));
  if (!answer.success) throw badShape(host, res, 'the cancel answer is not {"cancelled": true|false}');
  return answer.data.cancelled;
}
