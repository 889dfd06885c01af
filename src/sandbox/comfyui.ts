// Simulated self-hosted ComfyUI server (backends.md section 1), speaking its HTTP API on loopback.
// Quirks kept on purpose, because the real server has them:
// - every route also answers under "/api" + path; the jobs API is declared as /api/jobs… so it exists
//   as /api/jobs… and /api/api/jobs…, and there is no /jobs. Unknown routes answer aiohttp's plain
//   text "404: Not Found"; a known path with the wrong method answers "405: Method Not Allowed";
// - `queue_pending` is the worker's heap array copied verbatim (CPython heapq algorithm), not sorted;
// - POST /queue {delete} only touches pending items and always answers 200 with an empty body, also
//   for running or unknown ids; POST /interrupt always answers 200 empty, a targeted interrupt of a
//   job that is not running is silently skipped, and no body / {} is a *global* interrupt;
// - in `legacy` mode (servers before the targeted interrupt and the jobs API) /interrupt ignores its
//   body and interrupts whatever is running; the jobs routes do not exist;
// - an interrupt is cooperative: the running job stops `interruptLatencyMs` of clock time later (or
//   finishes on its own first); the flag is reset when the next prompt starts, so an interrupt while
//   idle is harmless; an interrupted run lands in history as status_str "error", completed false, with
//   an `execution_interrupted` message;
// - GET /history/{id} answers {} for ids not in history, pending and running ones included; a job
//   removed from the pending queue never enters history (it vanishes);
// - the jobs API maps a history entry without status_str to "completed";
// - CSRF guard: a loopback Host with a different Origin, or Sec-Fetch-Site: cross-site, gets 403;
// - POST /prompt: 400 with an *object* error (invalid_prompt_id, no_prompt, prompt_no_outputs, …),
//   409 with a *string* error for a prompt_id that already exists (legacy: "no prompt" as a string).
// One worker per host runs jobs one at a time in heap order. States are derived from the clock on each
// request (no timers): the queue is advanced up to clock.now() before every answer.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from './clock.ts';
import { jsonBody, startSimServer, type SimRequest, type SimResponse, type SimServer } from './sim-server.ts';
import { SEED_STATES, seededUuid, type SeedState, type Simulation } from './simulation.ts';

export type ComfyuiApi = 'jobs' | 'legacy';

/** API-format graph: node id → node. */
export type ComfyGraph = Record<string, { class_type?: string; inputs?: Record<string, unknown>; _meta?: Record<string, unknown> }>;

/** A queue item as HTTP answers show it: [number, prompt_id, prompt, extra_data, outputs_to_execute]. */
export type QueueItem = [number, string, ComfyGraph, Record<string, unknown>, string[]];

export type HistoryMessage = [string, Record<string, unknown>];

export interface HistoryEntry {
  prompt: QueueItem;
  outputs: Record<string, Record<string, unknown>>;
  meta: Record<string, { node_id: string; display_node: string; parent_node: string | null; real_node_id: string }>;
  status: { status_str: 'success' | 'error' | null; completed: boolean; messages: HistoryMessage[] } | null;
}

export interface ComfyuiSimOptions {
  api: ComfyuiApi;
  port?: number;
  host?: string;
  clock?: Clock;
  /** Makes seeded ids differ between simulated hosts; default: the simulation kind. */
  namespace?: string;
  /** Seed jobs in every state (default true). */
  seed?: boolean;
  /** What the one seeded running job is: finishes in about 10 minutes, or runs for hours (default 'running'). */
  seedRunning?: 'running' | 'long_running';
  /** Clock time between an interrupt and the running job actually stopping (default 2000 ms). */
  interruptLatencyMs?: number;
  /** Run time of prompts posted over HTTP (default 20 s). */
  promptDurationMs?: number;
  /** History entries kept (default 10 000, like ComfyUI's MAXIMUM_HISTORY_SIZE). */
  historyLimit?: number;
}

export interface SubmitOptions {
  /** Run time once the worker picks it up (default: promptDurationMs). */
  durationMs?: number;
  /** How the run ends (default 'success'). */
  outcome?: 'success' | 'error';
  /** 'error': the failing node (default: the sampler). */
  errorNode?: string;
  errorMessage?: string;
  errorType?: string;
  /** Client-supplied prompt id (default: a fresh UUID). */
  promptId?: string;
  /** Explicit priority `number`; else the server counter (negated with `front`). */
  number?: number;
  front?: boolean;
  prompt?: ComfyGraph;
  clientId?: string;
  workflowId?: string;
}

export interface ComfyuiSim extends Simulation {
  readonly kind: 'comfyui' | 'comfyui_legacy';
  readonly api: ComfyuiApi;
  readonly clock: Clock;
  /** Enqueues a job like POST /prompt does (after advancing the worker to now); returns its prompt_id. */
  submit(options?: SubmitOptions): string;
  /** The queue as GET /queue shows it now (pending in heap order, not sorted). */
  queue(): { running: QueueItem[]; pending: QueueItem[] };
  /** History now, oldest first. */
  history(): Record<string, HistoryEntry>;
  /** One history entry, or undefined (also for pending and running jobs). */
  historyEntry(promptId: string): HistoryEntry | undefined;
  /** Where a job is now. */
  stateOf(promptId: string): 'pending' | 'running' | 'history' | 'absent';
}

const OUTPUT_NODE_TYPES = new Set(['SaveImage', 'PreviewImage', 'SaveAnimatedWEBP', 'SaveAnimatedPNG', 'SaveVideo', 'SaveAudio', 'SaveText']);
const JOB_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
const PREVIEWABLE = new Set(['images', 'video', 'audio', '3d', 'text']);

/** A minimal text-to-image graph, the shape ComfyUI's own API example posts. */
export function defaultGraph(seed = 42): ComfyGraph {
  return {
    '3': {
      class_type: 'KSampler',
      inputs: { seed, steps: 20, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0] },
      _meta: { title: 'KSampler' },
    },
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' }, _meta: { title: 'Load Checkpoint' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 }, _meta: { title: 'Empty Latent Image' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a lighthouse at dusk, oil painting', clip: ['4', 1] }, _meta: { title: 'CLIP Text Encode (Prompt)' } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry, low quality', clip: ['4', 1] }, _meta: { title: 'CLIP Text Encode (Prompt)' } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] }, _meta: { title: 'VAE Decode' } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] }, _meta: { title: 'Save Image' } },
  };
}

interface Task {
  item: QueueItem;
  durationMs: number;
  outcome: 'success' | 'error';
  errorNode: string | undefined;
  errorMessage: string;
  errorType: string;
  enqueuedAt: number;
}

interface Running {
  task: Task;
  startedAt: number;
  /** When the interrupt flag was set during this run (null: not interrupted). */
  interruptAt: number | null;
}

// ---- CPython heapq, so queue_pending has exactly the real server's (unsorted) order ----------------

function less(a: Task, b: Task): boolean {
  // Python compares the tuples: number first, then prompt_id.
  if (a.item[0] !== b.item[0]) return a.item[0] < b.item[0];
  return a.item[1] < b.item[1];
}

function siftDown(heap: Task[], startPos: number, pos: number): void {
  const newItem = heap[pos]!;
  while (pos > startPos) {
    const parentPos = (pos - 1) >> 1;
    const parent = heap[parentPos]!;
    if (less(newItem, parent)) {
      heap[pos] = parent;
      pos = parentPos;
      continue;
    }
    break;
  }
  heap[pos] = newItem;
}

function siftUp(heap: Task[], pos: number): void {
  const endPos = heap.length;
  const startPos = pos;
  const newItem = heap[pos]!;
  let childPos = 2 * pos + 1;
  while (childPos < endPos) {
    const rightPos = childPos + 1;
    if (rightPos < endPos && !less(heap[childPos]!, heap[rightPos]!)) childPos = rightPos;
    heap[pos] = heap[childPos]!;
    pos = childPos;
    childPos = 2 * pos + 1;
  }
  heap[pos] = newItem;
  siftDown(heap, startPos, pos);
}

function heapPush(heap: Task[], t: Task): void {
  heap.push(t);
  siftDown(heap, 0, heap.length - 1);
}

function heapPop(heap: Task[]): Task | undefined {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return last;
  const top = heap[0]!;
  heap[0] = last;
  siftUp(heap, 0);
  return top;
}

function heapify(heap: Task[]): void {
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftUp(heap, i);
}

// ---- graph helpers ------------------------------------------------------------------------------

/** Node ids in an order the executor could run them: dependencies first, outputs last. */
function executionOrder(graph: ComfyGraph, outputs: readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string, depth: number) => {
    if (seen.has(id) || depth > 1000 || !(id in graph)) return;
    seen.add(id);
    for (const v of Object.values(graph[id]?.inputs ?? {})) {
      if (Array.isArray(v) && v.length === 2 && (typeof v[0] === 'string' || typeof v[0] === 'number')) visit(String(v[0]), depth + 1);
    }
    order.push(id);
  };
  for (const o of outputs) visit(o, 0);
  return order;
}

function classOf(graph: ComfyGraph, id: string): string {
  return graph[id]?.class_type ?? 'Unknown';
}

function isCanonicalUuid(v: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v);
}

// ---- the simulation -----------------------------------------------------------------------------

const JSON_TYPE = 'application/json; charset=utf-8';
const json = (status: number, body: unknown): SimResponse => ({ status, json: body, headers: { 'content-type': JSON_TYPE } });
const empty200: SimResponse = { status: 200, text: '', headers: { 'content-type': 'application/octet-stream' } };
const notFound: SimResponse = { status: 404, text: '404: Not Found', headers: { 'content-type': 'text/plain; charset=utf-8' } };
const serverError: SimResponse = {
  status: 500,
  text: '500 Internal Server Error\n\nServer got itself in trouble',
  headers: { 'content-type': 'text/plain; charset=utf-8' },
};

export async function startComfyuiSim(options: ComfyuiSimOptions): Promise<ComfyuiSim> {
  const api = options.api;
  const kind = api === 'jobs' ? 'comfyui' : 'comfyui_legacy';
  const clock = options.clock ?? systemClock;
  const namespace = options.namespace ?? kind;
  const latency = options.interruptLatencyMs ?? 2000;
  const promptDuration = options.promptDurationMs ?? 20_000;
  const historyLimit = options.historyLimit ?? 10_000;

  const heap: Task[] = [];
  let running: Running | null = null;
  let workerFreeAt = clock.now();
  const history = new Map<string, HistoryEntry>();
  let serverNumber = 0; // PromptServer.number
  let imageCounter = 1;
  const namespaceTag = seededUuid(namespace, 0).slice(0, 5);

  // -- worker ---------------------------------------------------------------------------------

  function endOf(r: Running): { at: number; how: 'success' | 'error' | 'interrupted' } {
    const natural = r.startedAt + r.task.durationMs;
    const stop = r.interruptAt === null ? Infinity : r.interruptAt + latency;
    if (stop < natural) return { at: stop, how: 'interrupted' };
    return { at: natural, how: r.task.outcome };
  }

  /** Runs the worker forward to `now`: finishes runs whose end has come and starts the next ones. */
  function advance(now = clock.now()): void {
    for (;;) {
      if (running) {
        const end = endOf(running);
        if (end.at > now) return;
        addHistory(running.task.item[1], buildEntry(running, end.at, end.how));
        running = null;
        workerFreeAt = end.at;
      }
      if (heap.length === 0) return;
      const next = heapPop(heap)!;
      // The interrupt flag is reset when a prompt starts: a new run is never interrupted by an old flag.
      running = { task: next, startedAt: Math.max(workerFreeAt, next.enqueuedAt), interruptAt: null };
    }
  }

  function addHistory(id: string, entry: HistoryEntry): void {
    history.delete(id);
    history.set(id, entry);
    while (history.size > historyLimit) history.delete(history.keys().next().value!);
  }

  function interruptProcessing(at: number): void {
    // nodes.interrupt_processing(): sets the global flag; only a running job notices it.
    if (running && running.interruptAt === null) running.interruptAt = at;
  }

  function outputsFor(graph: ComfyGraph, nodes: readonly string[]): Pick<HistoryEntry, 'outputs' | 'meta'> {
    const outputs: HistoryEntry['outputs'] = {};
    const meta: HistoryEntry['meta'] = {};
    for (const id of nodes) {
      const cls = classOf(graph, id);
      if (!OUTPUT_NODE_TYPES.has(cls)) continue;
      const n = String(imageCounter++).padStart(5, '0');
      const temp = cls === 'PreviewImage';
      outputs[id] = {
        images: [{ filename: temp ? `ComfyUI_temp_${namespaceTag}_${n}_.png` : `ComfyUI_${n}_.png`, subfolder: '', type: temp ? 'temp' : 'output' }],
      };
      meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
    }
    return { outputs, meta };
  }
  function buildEntry(r: Running, endedAt: number, how: 'success' | 'error' | 'interrupted'): HistoryEntry {
    const [, id, graph, , outs] = r.task.item;
    const order = executionOrder(graph, outs);
    const messages: HistoryMessage[] = [
      ['execution_start', { prompt_id: id, timestamp: r.startedAt }],
      ['execution_cached', { nodes: [], prompt_id: id, timestamp: r.startedAt }],
    ];
    if (how === 'success') {
      messages.push(['execution_success', { prompt_id: id, timestamp: endedAt }]);
      return { prompt: r.task.item, ...outputsFor(graph, order), status: { status_str: 'success', completed: true, messages } };
    }
    let node: string;
    if (how === 'error') {
      node = r.task.errorNode ?? order.find((n) => classOf(graph, n).includes('Sampler')) ?? order[Math.floor(order.length / 2)] ?? '1';
    } else {
      const frac = r.task.durationMs > 0 ? (endedAt - r.startedAt) / r.task.durationMs : 0;
      node = order[Math.min(order.length - 1, Math.max(0, Math.floor(frac * order.length)))] ?? '1';
    }
    const idx = order.indexOf(node);
    const executed = idx === -1 ? [] : order.slice(0, idx);
    const partial = outputsFor(graph, executed);
    if (how === 'error') {
      messages.push([
        'execution_error',
        {
          prompt_id: id,
          node_id: node,
          node_type: classOf(graph, node),
          executed,
          exception_message: r.task.errorMessage,
          exception_type: r.task.errorType,
          traceback: [
            '  File "/opt/ComfyUI/execution.py", line 496, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)\n',
            '  File "/opt/ComfyUI/comfy/sample.py", line 45, in sample\n    samples = sampler.sample(noise, positive, negative, cfg=cfg, latent_image=latent_image, start_step=start_step, last_step=last_step, force_full_denoise=force_full_denoise, denoise_mask=noise_mask, sigmas=sigmas, callback=callback, disable_pbar=disable_pbar, seed=seed)\n',
          ],
          current_inputs: {},
          current_outputs: [],
          timestamp: endedAt,
        },
      ]);
    } else {
      messages.push(['execution_interrupted', { prompt_id: id, node_id: node, node_type: classOf(graph, node), executed, timestamp: endedAt }]);
    }
    return { prompt: r.task.item, ...partial, status: { status_str: 'error', completed: false, messages } };
  }

  // -- queue operations (PromptQueue) ---------------------------------------------------------------

  function knownId(id: string): boolean {
    return history.has(id) || running?.task.item[1] === id || heap.some((t) => t.item[1] === id);
  }

  function enqueue(number: number, id: string, graph: ComfyGraph, extra: Record<string, unknown>, outs: string[], spec: SubmitOptions): void {
    const now = clock.now();
    if (api === 'jobs') extra.create_time = now; // older servers do not stamp create_time
    heapPush(heap, {
      item: [number, id, graph, extra, outs],
      durationMs: Math.max(0, spec.durationMs ?? promptDuration),
      outcome: spec.outcome ?? 'success',
      errorNode: spec.errorNode,
      errorMessage: spec.errorMessage ?? 'CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 1.12 GiB is free.',
      errorType: spec.errorType ?? 'torch.OutOfMemoryError',
      enqueuedAt: now,
    });
    advance(now);
  }

  /** delete_queue_item: removes the first pending match; pop + heapify like the real server. */
  function deletePending(id: string): boolean {
    const i = heap.findIndex((t) => t.item[1] === id);
    if (i === -1) return false;
    if (heap.length === 1) heap.length = 0;
    else {
      heap.splice(i, 1);
      heapify(heap);
    }
    return true;
  }

  function submit(spec: SubmitOptions = {}): string {
    advance();
    let number: number;
    if (spec.number !== undefined) number = spec.number;
    else {
      number = spec.front ? -serverNumber : serverNumber;
      serverNumber++;
    }
    const id = spec.promptId ?? randomUUID();
    if (knownId(id)) throw new Error(`prompt_id ${id} already exists`);
    const graph = spec.prompt ?? defaultGraph();
    const outs = Object.keys(graph).filter((k) => OUTPUT_NODE_TYPES.has(classOf(graph, k)));
    const extra: Record<string, unknown> = {};
    if (spec.clientId) extra.client_id = spec.clientId;
    if (spec.workflowId) extra.extra_pnginfo = { workflow: { id: spec.workflowId } };
    enqueue(number, id, graph, extra, outs, spec);
    return id;
  }

  function queueView(): { running: QueueItem[]; pending: QueueItem[] } {
    return { running: running ? [running.task.item] : [], pending: heap.map((t) => t.item) };
  }

  // -- jobs API (comfy_execution/jobs.py) -------------------------------------------------------

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

  function getJob(id: string): Record<string, unknown> | undefined {
    const h = history.get(id);
    if (h) return historyJob(id, h, true);
    if (running?.task.item[1] === id) return queueJob(running.task.item, 'in_progress', true);
    const p = heap.find((t) => t.item[1] === id);
    return p ? queueJob(p.item, 'pending', true) : undefined;
  }

  /** _cancel_job_by_id: interrupt if running, dequeue if pending, else a no-op. */
  function cancelById(id: string): boolean {
    if (running?.task.item[1] === id) {
      interruptProcessing(clock.now()); // interrupt_if_running: atomic, only this job
      return true;
    }
    if (heap.some((t) => t.item[1] === id)) return deletePending(id);
    return false;
  }

  // -- routes -----------------------------------------------------------------------------------

  type Handler = (req: SimRequest, params: string[]) => SimResponse;
  interface Route {
    method: 'GET' | 'POST';
    pattern: string[]; // ':' marks a parameter segment
    handle: Handler;
  }
  const declared: Route[] = [];
  const route = (method: 'GET' | 'POST', path: string, handle: Handler) => declared.push({ method, pattern: path.split('/').filter(Boolean), handle });

  route('GET', '/', () => ({ status: 200, text: '<!doctype html><title>ComfyUI (simulated)</title>', headers: { 'content-type': 'text/html' } }));

  route('GET', '/system_stats', () =>
    json(200, {
      system: {
        os: 'posix',
        ram_total: 67_108_864_000,
        ram_free: 41_943_040_000,
        comfyui_version: api === 'jobs' ? '0.5.2' : 'v0.3.40-12-g6f1c2b4',
        required_frontend_version: api === 'jobs' ? '1.35.4' : '1.21.7',
        python_version: '3.12.7 (main, Oct  1 2024, 08:52:12) [GCC 11.2.0]',
        pytorch_version: '2.7.1+cu128',
        embedded_python: false,
        deploy_environment: 'local-git',
        argv: ['main.py', '--listen', '127.0.0.1'],
      },
      devices: [
        { name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync', type: 'cuda', index: 0, vram_total: 25_393_692_672, vram_free: 23_000_000_000, torch_vram_total: 0, torch_vram_free: 0 },
      ],
    }),
  );

  if (api === 'jobs') {
    route('GET', '/api/jobs', (req) => {
      const q = req.query;
      const statusParam = q.get('status');
      const sortBy = (q.get('sort_by') ?? 'created_at').toLowerCase();
      const sortOrder = (q.get('sort_order') ?? 'desc').toLowerCase();
      let filter: string[] = [...JOB_STATUSES];
      if (statusParam) {
        filter = statusParam.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
        const invalid = filter.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
        if (invalid.length) return json(400, { error: `Invalid status value(s): ${invalid.join(', ')}. Valid values: ${JOB_STATUSES.join(', ')}` });
      }
      if (sortBy !== 'created_at' && sortBy !== 'execution_duration') return json(400, { error: "sort_by must be 'created_at' or 'execution_duration'" });
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
      if (filter.includes('in_progress') && running) jobs.push(queueJob(running.task.item, 'in_progress', false));
      if (filter.includes('pending')) for (const t of heap) jobs.push(queueJob(t.item, 'pending', false));
      if (filter.some((s) => s === 'completed' || s === 'failed' || s === 'cancelled')) {
        for (const [id, e] of history) {
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
      const job = getJob(id!);
      return job ? json(200, job) : json(404, { error: 'Job not found' });
    });
    route('POST', '/api/jobs/:/cancel', (_req, [id]) => json(200, { cancelled: cancelById(id!) }));
    route('POST', '/api/jobs/cancel', (req) => {
      let body: unknown;
      try {
        body = JSON.parse(req.body);
      } catch {
        return json(400, { error: 'Request body must be valid JSON' });
      }
      const ids = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>).job_ids : undefined;
      if (!Array.isArray(ids)) return json(400, { error: 'job_ids must be a list' });
      const invalid = ids.filter((v) => typeof v !== 'string' || !isCanonicalUuid(v)).map((v) => (typeof v === 'string' ? v : pyRepr(v)));
      if (invalid.length) return json(400, { error: 'job_ids contains invalid id(s)', invalid_ids: invalid });
      let cancelled = false;
      for (const id of ids as string[]) if (cancelById(id)) cancelled = true;
      return json(200, { cancelled });
    });
  }

  route('GET', '/history', (req) => {
    const rawMax = req.query.get('max_items');
    const rawOffset = req.query.get('offset');
    const maxItems = rawMax === null ? null : pyInt(rawMax);
    let offset = rawOffset === null ? -1 : pyInt(rawOffset);
    if (maxItems === undefined || offset === undefined) return serverError; // int() raised
    // PromptQueue.get_history: without an offset, max_items means "the last N".
    if (offset < 0 && maxItems !== null) offset = history.size - maxItems;
    const out: Record<string, HistoryEntry> = {};
    let i = 0;
    let n = 0;
    for (const [k, v] of history) {
      if (i >= offset) {
        out[k] = v;
        n++;
        if (maxItems !== null && n >= maxItems) break;
      }
      i++;
    }
    return json(200, out);
  });
  route('GET', '/history/:', (_req, [id]) => {
    const e = history.get(id!);
    return json(200, e ? { [id!]: e } : {});
  });
  route('POST', '/history', (req) => {
    const body = parseBody(req);
    if (body === INVALID) return serverError;
    if (isObject(body)) {
      if ('clear' in body && body.clear) history.clear();
      if ('delete' in body) {
        if (!isIterable(body.delete)) return serverError;
        for (const id of iterate(body.delete)) history.delete(String(id));
      }
    }
    return empty200;
  });

  route('GET', '/queue', () => {
    const v = queueView(); // _remove_sensitive_from_queue: 5-element items, pending as the heap array
    return json(200, { queue_running: v.running, queue_pending: v.pending });
  });
  route('POST', '/queue', (req) => {
    const body = parseBody(req);
    if (body === INVALID) return serverError;
    if (isObject(body)) {
      if ('clear' in body && body.clear) heap.length = 0; // wipe_queue: the running job is untouched
      if ('delete' in body) {
        if (!isIterable(body.delete)) return serverError;
        for (const id of iterate(body.delete)) deletePending(id as string); // pending only; silent otherwise
      }
    }
    return empty200;
  });

  route('POST', '/interrupt', (req) => {
    const now = clock.now();
    if (api === 'legacy') {
      // Older servers ignore the body: whatever is running is interrupted.
      interruptProcessing(now);
      return empty200;
    }
    let body: unknown = jsonBody(req) ?? {};
    if (!isObject(body)) {
      if (Array.isArray(body)) return serverError; // json_data.get on a list raises
      body = {};
    }
    const promptId = (body as Record<string, unknown>).prompt_id;
    if (promptId) {
      if (running && running.task.item[1] === promptId) interruptProcessing(now);
      // else: "Prompt <id> is not currently running, skipping interrupt" (still 200)
    } else interruptProcessing(now); // global interrupt
    return empty200;
  });

  route('GET', '/prompt', () => json(200, { exec_info: { queue_remaining: heap.length + (running ? 1 : 0) } }));
  route('POST', '/prompt', (req) => {
    const body = parseBody(req);
    if (body === INVALID || !isObject(body)) return serverError; // request.json() raised, or .get on a non-dict
    let number: number;
    if ('number' in body) {
      const raw = body.number;
      number = typeof raw === 'number' || (typeof raw === 'string' && raw.trim() !== '') ? Number(raw) : NaN;
      if (!Number.isFinite(number)) return serverError; // float() raised
    } else {
      number = serverNumber;
      if ('front' in body && body.front) number = -number;
      serverNumber++;
    }
    if (!('prompt' in body)) {
      if (api === 'legacy') return json(400, { error: 'no prompt', node_errors: [] });
      return json(400, { error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} });
    }
    let id: string;
    const clientId = body.prompt_id;
    if (clientId === undefined || clientId === null) id = randomUUID();
    else if (typeof clientId === 'string' && isCanonicalUuid(clientId)) id = clientId;
    else {
      return json(400, {
        error: {
          type: 'invalid_prompt_id',
          message: 'prompt_id must be a valid UUID',
          details: 'prompt_id must be a UUID string in canonical lowercase hyphenated form; omit it to let the server generate one',
          extra_info: {},
        },
        node_errors: {},
      });
    }
    if (knownId(id)) return json(409, { error: 'prompt_id already exists' });
    const graph = body.prompt;
    if (!isObject(graph)) {
      return json(400, { error: { type: 'invalid_prompt', message: 'Cannot execute because the prompt is not an object.', details: '', extra_info: {} }, node_errors: [] });
    }
    for (const [nodeId, node] of Object.entries(graph)) {
      if (!isObject(node) || typeof node.class_type !== 'string') {
        return json(400, {
          error: { type: 'invalid_prompt', message: 'Cannot execute because a node is missing the class_type property.', details: `Node ID '#${nodeId}'`, extra_info: {} },
          node_errors: [],
        });
      }
    }
    const g = graph as ComfyGraph;
    const outs = Object.keys(g).filter((k) => OUTPUT_NODE_TYPES.has(classOf(g, k)));
    if (outs.length === 0) {
      return json(400, { error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, node_errors: [] });
    }
    const extra: Record<string, unknown> = isObject(body.extra_data) ? { ...body.extra_data } : {};
    if ('client_id' in body) extra.client_id = body.client_id;
    enqueue(number, id, g, extra, outs, {});
    return json(200, { prompt_id: id, number, node_errors: {} });
  });

  // add_routes(): "/api" + path first, then the declared paths.
  const registered: Route[] = [...declared.map((r) => ({ ...r, pattern: ['api', ...r.pattern] })), ...declared];

  function dispatch(req: SimRequest): SimResponse {
    const csrf = originGuard(req);
    if (csrf) return csrf;
    let segs: string[];
    try {
      segs = req.path === '/' ? [] : req.path.slice(1).split('/').map((s) => decodeURIComponent(s));
    } catch {
      return notFound;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const allowed = new Set<string>();
    for (const r of registered) {
      const params = matchPattern(r.pattern, segs);
      if (!params) continue;
      if (r.method !== method) {
        allowed.add(r.method);
        continue;
      }
      advance();
      return r.handle(req, params);
    }
    if (allowed.size > 0) {
      return { status: 405, text: '405: Method Not Allowed', headers: { 'content-type': 'text/plain; charset=utf-8', allow: [...allowed].join(',') } };
    }
    return notFound;
  }

  const server: SimServer = await startSimServer(dispatch, { ...(options.port !== undefined ? { port: options.port } : {}), ...(options.host ? { host: options.host } : {}) });

  // -- seeds ------------------------------------------------------------------------------------

  const seeds = Object.fromEntries(SEED_STATES.map((s) => [s, [] as string[]])) as Record<SeedState, string[]>;
  if (options.seed ?? true) {
    const t0 = clock.now();
    const min = 60_000;
    // Terminal jobs, already in history: each ran in turn earlier.
    const done: Array<{ state: SeedState; how: 'success' | 'error' | 'interrupted' }> = [
      { state: 'succeeded', how: 'success' },
      { state: 'failed', how: 'error' },
      { state: 'cancelled', how: 'interrupted' },
    ];
    let n = 1;
    done.forEach((d, i) => {
      const id = seededUuid(namespace, n++);
      const created = t0 - (40 - i * 10) * min;
      const extra: Record<string, unknown> = { client_id: 'sandbox' };
      if (api === 'jobs') extra.create_time = created;
      const graph = defaultGraph(1000 + i);
      const task: Task = {
        item: [serverNumber++, id, graph, extra, ['9']],
        durationMs: 4 * min,
        outcome: d.how === 'error' ? 'error' : 'success',
        errorNode: undefined,
        errorMessage: 'CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 1.12 GiB is free.',
        errorType: 'torch.OutOfMemoryError',
        enqueuedAt: created,
      };
      const startedAt = created + 30_000;
      const endedAt = d.how === 'interrupted' ? startedAt + 90_000 : startedAt + task.durationMs;
      addHistory(id, buildEntry({ task, startedAt, interruptAt: null }, endedAt, d.how));
      seeds[d.state].push(id);
    });
    // The one running job (one worker per host).
    const longRunning = options.seedRunning === 'long_running';
    const runId = seededUuid(namespace, n++);
    const runCreated = t0 - (longRunning ? 5 : 1) * min;
    const runExtra: Record<string, unknown> = { client_id: 'sandbox' };
    if (api === 'jobs') runExtra.create_time = runCreated;
    running = {
      task: {
        item: [serverNumber++, runId, defaultGraph(2000), runExtra, ['9']],
        durationMs: longRunning ? 6 * 60 * min : 10 * min,
        outcome: 'success',
        errorNode: undefined,
        errorMessage: '',
        errorType: '',
        enqueuedAt: runCreated,
      },
      startedAt: runCreated,
      interruptAt: null,
    };
    seeds[longRunning ? 'long_running' : 'running'].push(runId);
    // Queued behind it; the last one was submitted with front:true, so the heap array is not sorted.
    for (let i = 0; i < 4; i++) {
      const id = seededUuid(namespace, n++);
      const front = i === 3;
      const number = front ? -serverNumber : serverNumber;
      serverNumber++;
      const created = t0 - (4 - i) * 10_000;
      const extra: Record<string, unknown> = { client_id: 'sandbox' };
      if (api === 'jobs') extra.create_time = created;
      heapPush(heap, {
        item: [number, id, defaultGraph(3000 + i), extra, ['9']],
        durationMs: 10 * min,
        outcome: 'success',
        errorNode: undefined,
        errorMessage: '',
        errorType: '',
        enqueuedAt: created,
      });
      seeds.queued.push(id);
    }
  }

  return {
    kind,
    api,
    clock,
    server,
    seeds,
    submit,
    queue() {
      advance();
      const v = queueView();
      return { running: [...v.running], pending: [...v.pending] };
    },
    history() {
      advance();
      return Object.fromEntries(history);
    },
    historyEntry(id) {
      advance();
      return history.get(id);
    },
    stateOf(id) {
      advance();
      if (history.has(id)) return 'history';
      if (running?.task.item[1] === id) return 'running';
      return heap.some((t) => t.item[1] === id) ? 'pending' : 'absent';
    },
    close: () => server.close(),
  };
}

// ---- helpers ------------------------------------------------------------------------------------

const INVALID = Symbol('invalid');

/** request.json(): an empty or malformed body raises (a 500 in aiohttp). */
function parseBody(req: SimRequest): unknown {
  try {
    return JSON.parse(req.body);
  } catch {
    return INVALID;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIterable(v: unknown): boolean {
  return Array.isArray(v) || typeof v === 'string' || isObject(v);
}

function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isObject(v)) return Object.keys(v);
  return [];
}

/** Python int() of a query string; undefined where it would raise. */
function pyInt(s: string): number | undefined {
  return /^\s*[+-]?\d+\s*$/.test(s) ? Number(s) : undefined;
}

function pyRepr(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return JSON.stringify(v);
}

function matchPattern(pattern: readonly string[], segs: readonly string[]): string[] | null {
  if (pattern.length !== segs.length) return null;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segs[i]!;
    if (p === ':') {
      if (s === '' || s.includes('{') || s.includes('}')) return null;
      params.push(s);
    } else if (p !== s) return null;
  }
  return params;
}

/** Host part of a netloc: lowercase, without userinfo, port or IPv6 brackets; and the port. */
function splitNetloc(netloc: string): { hostname: string | null; port: number | null } {
  const hostPort = netloc.slice(netloc.lastIndexOf('@') + 1).toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (!m) return { hostname: null, port: null };
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { hostname: host === '' ? null : host, port: m[2] ? Number(m[2]) : null };
}

function isLoopback(host: string | null): boolean {
  if (host === null) return false;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** create_origin_only_middleware (plus the newer Sec-Fetch-Site check). */
function originGuard(req: SimRequest): SimResponse | null {
  const h = req.headers;
  if (h['sec-fetch-site'] === 'cross-site') return { status: 403, text: '' };
  const host = typeof h.host === 'string' ? h.host : undefined;
  const origin = typeof h.origin === 'string' ? h.origin : undefined;
  if (host === undefined || origin === undefined) return null;
  let hostDomain: string | null = host.toLowerCase();
  const originNetloc = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(origin)?.[1] ?? '';
  let originDomain: string | null = originNetloc.toLowerCase();
  const hostParsed = splitNetloc(hostDomain);
  const originParsed = splitNetloc(originNetloc);
  const loopback = isLoopback(hostParsed.hostname);
  // "if origin doesn't have a port strip it from the host to handle weird browsers, same for host"
  if (originParsed.port === null) hostDomain = hostParsed.hostname;
  if (hostParsed.port === null) originDomain = originParsed.hostname;
  if (loopback && hostDomain && originDomain && hostDomain !== originDomain) return { status: 403, text: '' };
  return null;
}
