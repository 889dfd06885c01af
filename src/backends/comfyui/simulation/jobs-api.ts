// The jobs API of current servers (server.py + comfy_execution/jobs.py): GET /api/jobs (filter,
// sort, paginate), GET /api/jobs/{id}, POST /api/jobs/{id}/cancel (no id check; idempotent) and
// POST /api/jobs/cancel (malformed ids are a 400). A history entry without status_str maps to
// "completed"; absent or null keys are dropped (prune_dict).
import { json, pyRepr } from './python.ts';
import type { PromptQueue } from './prompt-queue.ts';
import type { AddRoute } from './router.ts';
import type { HistoryEntry, QueueItem } from './types.ts';

const JOB_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
const PREVIEWABLE = new Set(['images', 'video', 'audio', '3d', 'text']);
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** validate_job_id: a string in canonical lowercase hyphenated UUID form. */
export function isValidJobId(v: unknown): v is string {
  return typeof v === 'string' && CANONICAL_UUID.test(v);
}

export function addJobsRoutes(route: AddRoute, queue: PromptQueue): void {
  route('GET', '/api/jobs', (req) => {
    const q = req.query;
    const statusParam = q.get('status');
    const sortBy = (q.get('sort_by') ?? 'created_at').toLowerCase();
    const sortOrder = (q.get('sort_order') ?? 'desc').toLowerCase();
    let filter: string[] = [...JOB_STATUSES];
    if (statusParam) {
      filter = statusParam
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      const invalid = filter.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
      if (invalid.length)
        return json(400, { error: `Invalid status value(s): ${invalid.join(', ')}. Valid values: ${JOB_STATUSES.join(', ')}` });
    }
    if (sortBy !== 'created_at' && sortBy !== 'execution_duration')
      return json(400, { error: "sort_by must be 'created_at' or 'execution_duration'" });
    if (sortOrder !== 'asc' && sortOrder !== 'desc') return json(400, { error: "sort_order must be 'asc' or 'desc'" });
    let limit: number | null = null;
    if (q.has('limit')) {
      const n = Number(q.get('limit'));
      if (!Number.isInteger(n) || !/^\s*[+-]?\d+\s*$/.test(q.get('limit')!)) return json(400, { error: 'limit must be an integer' });
      if (n <= 0) return json(400, { error: 'limit must be a positive integer' });
      limit = n;
    }
    let offset = 0;
    if (q.has('offset')) {
      const raw = q.get('offset')!;
      if (!/^\s*[+-]?\d+\s*$/.test(raw)) return json(400, { error: 'offset must be an integer' });
      offset = Math.max(0, Number(raw));
    }
    let jobs: Record<string, unknown>[] = [];
    const running = queue.runningItem();
    if (filter.includes('in_progress') && running) jobs.push(queueJob(running, 'in_progress', false));
    if (filter.includes('pending')) for (const item of queue.pendingItems()) jobs.push(queueJob(item, 'pending', false));
    if (filter.some((s) => s === 'completed' || s === 'failed' || s === 'cancelled')) {
      for (const [id, e] of queue.history) {
        const j = historyJob(id, e, false);
        if (filter.includes(j.status as string)) jobs.push(j);
      }
    }
    const workflowId = q.get('workflow_id');
    if (workflowId) jobs = jobs.filter((j) => j.workflow_id === workflowId);
    const key =
      sortBy === 'execution_duration'
        ? (j: Record<string, unknown>) => {
            const s = (j.execution_start_time as number | undefined) ?? 0;
            const e = (j.execution_end_time as number | undefined) ?? 0;
            return s && e ? e - s : 0;
          }
        : (j: Record<string, unknown>) => (j.create_time as number | undefined) ?? 0;
    jobs.sort((a, b) => (sortOrder === 'desc' ? key(b) - key(a) : key(a) - key(b)));
    const total = jobs.length;
    let page = jobs.slice(offset);
    if (limit !== null) page = page.slice(0, limit);
    return json(200, { jobs: page, pagination: { offset, limit, total, has_more: offset + page.length < total } });
  });

  route('GET', '/api/jobs/:', (_req, [id]) => {
    const job = getJob(queue, id!);
    return job ? json(200, job) : json(404, { error: 'Job not found' });
  });

  route('POST', '/api/jobs/:/cancel', (_req, [id]) => json(200, { cancelled: cancelById(queue, id!) }));

  route('POST', '/api/jobs/cancel', (req) => {
    let body: unknown;
    try {
      body = JSON.parse(req.body);
    } catch {
      return json(400, { error: 'Request body must be valid JSON' });
    }
    const ids = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).job_ids : undefined;
    if (!Array.isArray(ids)) return json(400, { error: 'job_ids must be a list' });
    const invalid = ids.filter((v) => !isValidJobId(v)).map((v) => (typeof v === 'string' ? v : pyRepr(v)));
    if (invalid.length) return json(400, { error: 'job_ids contains invalid id(s)', invalid_ids: invalid });
    let cancelled = false;
    for (const id of ids as string[]) if (cancelById(queue, id)) cancelled = true;
    return json(200, { cancelled });
  });
}

/** get_job: history first, then running, then pending. */
function getJob(queue: PromptQueue, id: string): Record<string, unknown> | undefined {
  const h = queue.history.get(id);
  if (h) return historyJob(id, h, true);
  const running = queue.runningItem();
  if (running?.[1] === id) return queueJob(running, 'in_progress', true);
  const p = queue.pendingItem(id);
  return p ? queueJob(p, 'pending', true) : undefined;
}

/** _cancel_job_by_id: interrupt if running (interrupt_if_running: atomic, only this job), dequeue if pending, else a no-op. */
function cancelById(queue: PromptQueue, id: string): boolean {
  if (queue.runningItem()?.[1] === id) {
    queue.interrupt();
    return true;
  }
  return queue.deletePending(id);
}

function queueJob(item: QueueItem, status: 'pending' | 'in_progress', detail: boolean): Record<string, unknown> {
  const [priority, id, prompt, extra] = item;
  const job = prune({
    id,
    status,
    priority,
    create_time: extra.create_time,
    outputs_count: 0,
    previewable_outputs_count: 0,
    workflow_id: workflowIdOf(extra),
  });
  if (detail) job.workflow = { prompt, extra_data: extra };
  return job;
}

function historyJob(id: string, entry: HistoryEntry, detail: boolean): Record<string, unknown> {
  const [priority, , prompt, extra] = entry.prompt;
  const statusInfo = entry.status;
  const statusStr = statusInfo ? statusInfo.status_str : null;
  let start: unknown;
  let end: unknown;
  let error: unknown;
  let interrupted = false;
  for (const m of statusInfo?.messages ?? []) {
    const [name, data] = m;
    if (name === 'execution_start') start = data.timestamp;
    else if (name === 'execution_success' || name === 'execution_error' || name === 'execution_interrupted') {
      end = data.timestamp;
      if (name === 'execution_error') error = data;
      else if (name === 'execution_interrupted') interrupted = true;
    }
  }
  const status = statusStr === 'success' ? 'completed' : statusStr === 'error' ? (interrupted ? 'cancelled' : 'failed') : 'completed';
  const summary = outputsSummary(entry.outputs ?? {});
  const job = prune({
    id,
    status,
    priority,
    create_time: extra.create_time,
    execution_start_time: start,
    execution_end_time: end,
    execution_error: error,
    outputs_count: summary.count,
    previewable_outputs_count: summary.previewable,
    preview_output: summary.preview,
    workflow_id: workflowIdOf(extra),
  });
  if (detail) {
    job.outputs = entry.outputs ?? {};
    job.execution_status = statusInfo;
    job.workflow = { prompt, extra_data: extra };
  }
  return job;
}

function outputsSummary(outputs: Record<string, unknown>): { count: number; previewable: number; preview: unknown } {
  let count = 0;
  let previewable = 0;
  let preview: Record<string, unknown> | undefined;
  let fallback: Record<string, unknown> | undefined;
  for (const [nodeId, nodeOut] of Object.entries(outputs)) {
    if (!nodeOut || typeof nodeOut !== 'object') continue;
    for (const [media, items] of Object.entries(nodeOut as Record<string, unknown>)) {
      if (media === 'animated' || !Array.isArray(items)) continue;
      for (const item of items) {
        if (!item || typeof item !== 'object') continue;
        count++;
        if (!PREVIEWABLE.has(media)) continue;
        previewable++;
        const enriched = { ...(item as Record<string, unknown>), nodeId, mediaType: media };
        if ((item as Record<string, unknown>).type === 'output') preview ??= enriched;
        else fallback ??= enriched;
      }
    }
  }
  return { count, previewable, preview: preview ?? fallback };
}

function prune(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}

function workflowIdOf(extra: Record<string, unknown>): unknown {
  const png = extra.extra_pnginfo as { workflow?: { id?: unknown } } | undefined;
  return png?.workflow?.id;
}
