// The routes every ComfyUI server has besides POST /prompt: /, /system_stats, GET/POST /history,
// GET/POST /queue, POST /interrupt, GET /view, GET /prompt.
// - GET /history/{id} answers {} for ids not in history, pending and running ones included;
// - POST /queue {delete} only touches pending items and always answers an empty 200, also for running
//   or unknown ids; {clear} leaves the running job alone;
// - POST /interrupt always answers an empty 200: a targeted interrupt of a job that is not running is
//   silently skipped, no body / {} is a *global* interrupt, and a legacy server ignores the body and
//   interrupts whatever runs.
import { jsonBody } from '../../../simulation/sim-server.ts';
import { empty200, INVALID, isIterable, isObject, iterate, json, notFound, parseBody, pyInt, serverError } from './python.ts';
import type { PromptQueue } from './prompt-queue.ts';
import type { AddRoute } from './router.ts';
import type { HistoryEntry } from './types.ts';

export function addCoreRoutes(route: AddRoute, queue: PromptQueue, options: { historyOffset: boolean }): void {
  const { api } = queue;
  route('GET', '/', () => ({
    status: 200,
    text: '<!doctype html><title>ComfyUI (simulated)</title>',
    headers: { 'content-type': 'text/html' },
  }));

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
        {
          name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync',
          type: 'cuda',
          index: 0,
          vram_total: 25_393_692_672,
          vram_free: 23_000_000_000,
          torch_vram_total: 0,
          torch_vram_free: 0,
        },
      ],
    }),
  );

  route('GET', '/history', (req) => {
    const rawMax = req.query.get('max_items');
    const rawOffset = options.historyOffset ? req.query.get('offset') : null; // older servers ignore it
    const maxItems = rawMax === null ? null : pyInt(rawMax);
    let offset = rawOffset === null ? -1 : pyInt(rawOffset);
    if (maxItems === undefined || offset === undefined) return serverError; // int() raised
    // PromptQueue.get_history: without an offset, max_items means "the last N".
    if (offset < 0 && maxItems !== null) offset = queue.history.size - maxItems;
    const out: Record<string, HistoryEntry> = {};
    let i = 0;
    let n = 0;
    for (const [k, v] of queue.history) {
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
    const e = queue.history.get(id!);
    return json(200, e ? { [id!]: e } : {});
  });
  route('POST', '/history', (req) => {
    const body = parseBody(req);
    if (body === INVALID) return serverError;
    if (isObject(body)) {
      if ('clear' in body && body.clear) queue.history.clear();
      if ('delete' in body) {
        if (!isIterable(body.delete)) return serverError;
        for (const id of iterate(body.delete)) queue.history.delete(String(id));
      }
    }
    return empty200;
  });

  route('GET', '/queue', () => {
    // _remove_sensitive_from_queue: 5-element items, pending as the heap array
    const running = queue.runningItem();
    return json(200, { queue_running: running ? [running] : [], queue_pending: queue.pendingItems() });
  });
  route('POST', '/queue', (req) => {
    const body = parseBody(req);
    if (body === INVALID) return serverError;
    if (isObject(body)) {
      if ('clear' in body && body.clear) queue.clearPending();
      if ('delete' in body) {
        if (!isIterable(body.delete)) return serverError;
        for (const id of iterate(body.delete)) queue.deletePending(id as string); // pending only; silent otherwise
      }
    }
    return empty200;
  });

  route('POST', '/interrupt', (req) => {
    const now = queue.clock.now();
    if (api === 'legacy') {
      // Older servers ignore the body: whatever is running is interrupted.
      queue.interrupt(now);
      return empty200;
    }
    let body: unknown = jsonBody(req) ?? {};
    if (!isObject(body)) {
      if (Array.isArray(body)) return serverError; // json_data.get on a list raises
      body = {};
    }
    const promptId = (body as Record<string, unknown>).prompt_id;
    if (promptId) {
      if (queue.runningItem()?.[1] === promptId) queue.interrupt(now);
      // else: "Prompt <id> is not currently running, skipping interrupt" (still 200)
    } else queue.interrupt(now); // global interrupt
    return empty200;
  });

  // GET /view (server.py view_image): a file an output node wrote, by filename, subfolder and type
  // (default "output"); 400 for an unknown type or a path that climbs out, 404 for a file not there.
  route('GET', '/view', (req) => {
    const filename = req.query.get('filename');
    if (filename === null) return notFound;
    const type = req.query.get('type') ?? 'output';
    const subfolder = req.query.get('subfolder') ?? '';
    if (filename === '' || filename.startsWith('/') || filename.includes('..') || !['output', 'input', 'temp'].includes(type))
      return { status: 400, text: '', headers: { 'content-type': 'application/octet-stream' } };
    if (!queue.wrote({ filename, subfolder, type }))
      return { status: 404, text: '', headers: { 'content-type': 'application/octet-stream' } };
    return {
      status: 200,
      text: `PNG ${subfolder}/${filename}`,
      headers: { 'content-type': 'image/png', 'content-disposition': `filename="${filename}"` },
    };
  });

  route('GET', '/prompt', () => json(200, { exec_info: { queue_remaining: queue.pendingItems().length + (queue.runningItem() ? 1 : 0) } }));
}
