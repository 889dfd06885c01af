// ComfyUI's records (jobs API objects, /queue items, history entries) as the unified status report.
// Both API kinds map a finished job the same way ComfyUI's own jobs API does.
import { compact, countOf, numberOf, textOf } from '../../jobs/details.ts';
import { timesOf, type JobError, type JobOutput, type JobStatus, type JobStatusReport } from '../../jobs/model.ts';
import type { ComfyuiDetails } from './details.ts';
import type { Host } from './host.ts';
import { isRecord } from './responses.ts';
import type { HistoryEntry, HistoryStatus, JobObject, QueueItem, SharedQueue } from './schemas.ts';

/** What a report needs of its host: the name it is reported under, and the URL callers reach it at. */
export type HostView = Pick<Host, 'name' | 'publicUrl'>;

/** Output files listed in one status. */
const MAX_OUTPUTS = 100;

export function fromJobObject(job: JobObject, host: HostView): JobStatusReport {
  let status: JobStatus;
  switch (job.status) {
    case 'pending':
      status = 'queued';
      break;
    case 'in_progress':
      status = 'running';
      break;
    case 'failed':
      status = 'failed';
      break;
    case 'cancelled':
      status = 'cancelled';
      break;
    case 'completed':
      // ComfyUI also says "completed" for a history entry without status_str (lenient). The single-job
      // answer carries that raw status: its messages decide then, as for the legacy routes.
      status = job.execution_status?.status_str === 'success' ? 'succeeded' : statusFromHistory(job.execution_status).status;
      break;
  }
  const error = job.execution_error
    ? errorFrom(job.execution_error)
    : status === 'failed'
      ? errorFromMessages(job.execution_status?.messages)
      : undefined;
  const outputs = flattenOutputs(job.outputs, host);
  const details = compact<ComfyuiDetails>({
    number: numberOf(job.priority),
    workflow_id: textOf(job.workflow_id),
    outputs_count: countOf(job.outputs_count) ?? outputs?.length,
    execution_duration_ms: durationMs(job.execution_start_time, job.execution_end_time),
    cached_nodes: cachedNodes(job.execution_status?.messages),
  });
  return {
    found: true,
    status,
    raw_status: job.status,
    host: host.name,
    ...timesOf({ created: job.create_time, started: job.execution_start_time, completed: job.execution_end_time }),
    ...(error ? { error } : {}),
    ...(outputs ? { outputs } : {}),
    ...(details ? { details } : {}),
  };
}

/**
 * The job `id` as /queue shows it: running, else pending. An older server queues a second job under an
 * id it already holds (0.3.64 does): the one that runs first stands for the id.
 */
export function fromLegacyQueue(queue: SharedQueue, id: string, host: HostView): JobStatusReport | undefined {
  const run = queue.queue_running.find((i) => i[1] === id);
  if (run) return fromQueueItem(queue, run, host);
  let first: Readonly<QueueItem> | undefined;
  for (const i of queue.queue_pending) if (i[1] === id && (!first || aheadOf(i[0], i[1], first[0], first[1]))) first = i;
  return first && fromQueueItem(queue, first, host);
}

/** One /queue item (an item of `queue`, running or pending) as a report, with its own number and position. */
export function fromQueueItem(queue: SharedQueue, item: Readonly<QueueItem>, host: HostView): JobStatusReport {
  if (queue.queue_running.includes(item)) {
    return {
      found: true,
      status: 'running',
      raw_status: 'running',
      host: host.name,
      ...timesOf({ created: createTimeOf(item) }),
      details: queueDetails(item),
    };
  }
  // queue_pending is ComfyUI's heap array, not sorted: the position is the number of pending jobs the
  // worker will start before this one (0 = next to start), in the heap's own order (number, prompt_id);
  // another job under the same id counts like any other.
  const ahead = queue.queue_pending.filter((i) => i !== item && aheadOf(i[0], i[1], item[0], item[1])).length;
  return {
    found: true,
    status: 'queued',
    raw_status: 'pending',
    queue_position: ahead,
    host: host.name,
    ...timesOf({ created: createTimeOf(item) }),
    details: queueDetails(item),
  };
}

/** Pending jobs under `id` (more than one only on an older server, which takes an id twice). */
export function pendingUnder(queue: SharedQueue, id: string): number {
  return queue.queue_pending.filter((i) => i[1] === id).length;
}

export function fromHistoryEntry(entry: HistoryEntry, host: HostView): JobStatusReport {
  const { status, started, ended } = statusFromHistory(entry.status);
  // raw_status: the history's own status_str ("success" / "error"), null when ComfyUI recorded none.
  const promptTuple = entry.prompt;
  const extra = Array.isArray(promptTuple) ? promptTuple[3] : undefined;
  const error =
    status === 'failed'
      ? (errorFromMessages(entry.status?.messages) ?? { message: 'ComfyUI reported the run as failed without an error message' })
      : undefined;
  const outputs = flattenOutputs(entry.outputs, host);
  const details = compact<ComfyuiDetails>({
    number: Array.isArray(promptTuple) ? numberOf(promptTuple[0]) : undefined,
    workflow_id: workflowIdOf(extra),
    outputs_count: outputs?.length,
    execution_duration_ms: durationMs(started, ended),
    cached_nodes: cachedNodes(entry.status?.messages),
  });
  return {
    found: true,
    status,
    raw_status: entry.status?.status_str ?? null,
    host: host.name,
    ...timesOf({ created: isRecord(extra) ? extra.create_time : undefined, started, completed: ended }),
    ...(error ? { error } : {}),
    ...(outputs ? { outputs } : {}),
    ...(details ? { details } : {}),
  };
}

/** Milliseconds between two ComfyUI timestamps (epoch ms), when both are known and in order. */
function durationMs(start: unknown, end: unknown): number | undefined {
  if (typeof start !== 'number' || typeof end !== 'number' || end < start) return undefined;
  return Math.round(end - start);
}

/** Nodes ComfyUI served from its cache, from the execution_cached messages of a run. */
function cachedNodes(messages: unknown[] | null | undefined): number | undefined {
  let count: number | undefined;
  for (const m of messages ?? []) {
    if (Array.isArray(m) && m[0] === 'execution_cached' && isRecord(m[1]) && Array.isArray(m[1].nodes))
      count = (count ?? 0) + m[1].nodes.length;
  }
  return count;
}

/**
 * succeeded / failed / cancelled from a history `status`, like ComfyUI's jobs API: "success" →
 * succeeded; "error" → cancelled when an execution_interrupted message is present, else failed. With no
 * status_str (older entries), the recorded messages decide; with none either, ComfyUI's own rule
 * ("completed") is followed, so both API kinds agree.
 */
function statusFromHistory(status: HistoryStatus): { status: 'succeeded' | 'failed' | 'cancelled'; started?: unknown; ended?: unknown } {
  let started: unknown;
  let ended: unknown;
  let sawError = false;
  let sawInterrupt = false;
  for (const m of status?.messages ?? []) {
    if (!Array.isArray(m) || m.length < 2 || !isRecord(m[1])) continue;
    const [name, data] = m as [unknown, Record<string, unknown>];
    if (name === 'execution_start') started = data.timestamp;
    else if (name === 'execution_success' || name === 'execution_error' || name === 'execution_interrupted') {
      ended = data.timestamp;
      if (name === 'execution_error') sawError = true;
      if (name === 'execution_interrupted') sawInterrupt = true;
    }
  }
  const s = status?.status_str;
  let out: 'succeeded' | 'failed' | 'cancelled';
  if (s === 'success') out = 'succeeded';
  else if (s === 'error') out = sawInterrupt ? 'cancelled' : 'failed';
  else out = sawInterrupt ? 'cancelled' : sawError ? 'failed' : 'succeeded';
  return { status: out, started, ended };
}

function errorFromMessages(messages: unknown[] | null | undefined): JobError | undefined {
  for (const m of messages ?? []) {
    if (Array.isArray(m) && m[0] === 'execution_error' && isRecord(m[1])) return errorFrom(m[1]);
  }
  return undefined;
}

/** The job's own node error (data about the job, so it is passed on, capped). */
function errorFrom(e: Record<string, unknown>): JobError {
  const message =
    typeof e.exception_message === 'string' && e.exception_message.trim() !== ''
      ? e.exception_message.trim()
      : 'ComfyUI reported an execution error';
  // node: the node id as ComfyUI names it in the graph; node_type: its class (SaveImage, KSampler, …).
  const node = typeof e.node_id === 'string' || typeof e.node_id === 'number' ? String(e.node_id) : undefined;
  return {
    message: message.slice(0, 2000),
    ...(typeof e.exception_type === 'string' && e.exception_type ? { type: e.exception_type.slice(0, 200) } : {}),
    ...(node ? { node: node.slice(0, 200) } : {}),
    ...(typeof e.node_type === 'string' && e.node_type ? { node_type: e.node_type.slice(0, 200) } : {}),
  };
}

/**
 * History outputs {node: {images: [{filename, subfolder, type}], …}} as a flat list of files, each with
 * the URL of ComfyUI's /view route for it when the host has a public URL (the configured `url` may be
 * one only the gateway reaches, so it is never used for this).
 */
function flattenOutputs(outputs: Record<string, unknown> | null | undefined, host: HostView): JobOutput[] | undefined {
  if (!outputs) return undefined;
  const files: JobOutput[] = [];
  for (const [node, nodeOut] of Object.entries(outputs)) {
    if (!isRecord(nodeOut)) continue;
    for (const [media, items] of Object.entries(nodeOut)) {
      if (media === 'animated' || !Array.isArray(items)) continue;
      for (const item of items) {
        if (!isRecord(item) || typeof item.filename !== 'string') continue;
        if (files.length >= MAX_OUTPUTS) return files;
        const file = {
          filename: item.filename,
          subfolder: typeof item.subfolder === 'string' ? item.subfolder : '',
          type: typeof item.type === 'string' ? item.type : 'output',
        };
        files.push({ node, media, ...file, ...(host.publicUrl !== undefined ? { url: viewUrl(host.publicUrl, file) } : {}) });
      }
    }
  }
  return files.length ? files : undefined;
}

/** ComfyUI's GET /view for one file (server.py view_image: filename, subfolder and type, all in the query). */
function viewUrl(base: string, file: { filename: string; subfolder: string; type: string }): string {
  return `${base}/view?${new URLSearchParams(file).toString()}`;
}

/** A queue item's details: its number, and the saved workflow it came from (as the jobs API reads it). */
function queueDetails(item: Readonly<QueueItem>): ComfyuiDetails {
  return compact<ComfyuiDetails>({ number: item[0], workflow_id: workflowIdOf(item[3]) }) ?? { number: item[0] };
}

/** extra_data.extra_pnginfo.workflow.id: the id the web UI gives a saved workflow (jobs.py reads it the same way). */
function workflowIdOf(extra: unknown): string | undefined {
  if (!isRecord(extra) || !isRecord(extra.extra_pnginfo) || !isRecord(extra.extra_pnginfo.workflow)) return undefined;
  return textOf(extra.extra_pnginfo.workflow.id);
}

function createTimeOf(item: Readonly<QueueItem>): unknown {
  const extra = item[3];
  return isRecord(extra) ? extra.create_time : undefined;
}

/** Heap order of ComfyUI's queue tuples: number first, then prompt_id. */
export function aheadOf(numberA: number, idA: string, numberB: number, idB: string): boolean {
  return numberA < numberB || (numberA === numberB && idA < idB);
}
