// Simulated self-hosted ComfyUI server (docs/backends.md, ComfyUI), speaking its HTTP API on loopback,
// with the real server's quirks kept on purpose. The parts:
// prompt-queue.ts  the queue, its one worker (clock-driven, cooperative interrupts), history
// heapq.ts         CPython's heapq, so queue_pending is the real (unsorted) heap array
// router.ts        aiohttp routing: "/api" aliases, plain-text 404, 405, the CSRF guard
// routes.ts        /system_stats, /history, /queue, /interrupt, /view, GET /prompt
// post-prompt.ts   POST /prompt (legacy servers take any prompt_id, current ones a UUID)
// jobs-api.ts      /api/jobs… (current servers only)
// seeds.ts         the jobs a host starts with
// `api: 'legacy'` is a server from before the jobs API, the targeted interrupt and the prompt-id check.
import { randomUUID } from 'node:crypto';
import { systemClock } from '../../../simulation/clock.ts';
import { startSimServer, type SimServer } from '../../../simulation/sim-server.ts';
import { seededUuid } from '../../../simulation/simulation.ts';
import { defaultGraph, outputNodes } from './graph.ts';
import { addJobsRoutes } from './jobs-api.ts';
import { postPrompt } from './post-prompt.ts';
import { createPromptQueue } from './prompt-queue.ts';
import { createRouter } from './router.ts';
import { addCoreRoutes } from './routes.ts';
import { seedJobs } from './seeds.ts';
import type { ComfyuiSim, ComfyuiSimOptions, SubmitOptions } from './types.ts';

export { defaultGraph } from './graph.ts';
export type {
  ComfyGraph,
  ComfyuiApi,
  ComfyuiSim,
  ComfyuiSimOptions,
  HistoryEntry,
  HistoryMessage,
  QueueItem,
  SubmitOptions,
} from './types.ts';

export async function startComfyuiSim(options: ComfyuiSimOptions): Promise<ComfyuiSim> {
  const api = options.api;
  const kind = api === 'jobs' ? 'comfyui' : 'comfyui_legacy';
  const clock = options.clock ?? systemClock;
  const namespace = options.namespace ?? kind;
  const queue = createPromptQueue({
    api,
    clock,
    namespaceTag: seededUuid(namespace, 0).slice(0, 5),
    interruptLatencyMs: options.interruptLatencyMs ?? 2000,
    promptDurationMs: options.promptDurationMs ?? 20_000,
    historyLimit: options.historyLimit ?? 10_000,
  });

  const { route, dispatch } = createRouter(() => queue.advance());
  addCoreRoutes(route, queue, { historyOffset: options.historyOffset ?? true });
  route('POST', '/prompt', (req) => postPrompt(queue, req));
  if (api === 'jobs') addJobsRoutes(route, queue);

  const server: SimServer = await startSimServer(dispatch, {
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host ? { host: options.host } : {}),
  });
  const seeds = seedJobs(queue, namespace, { enabled: options.seed ?? true, runningKind: options.seedRunning ?? 'running' });

  /** Enqueues a job like POST /prompt does. */
  function submit(spec: SubmitOptions = {}): string {
    queue.advance();
    const number = spec.number ?? queue.nextNumber(spec.front);
    const id = spec.promptId ?? randomUUID();
    if (api === 'jobs' && queue.knownId(id)) throw new Error(`prompt_id ${id} already exists`); // a legacy server queues it again
    const graph = spec.prompt ?? defaultGraph();
    const extra: Record<string, unknown> = {};
    if (spec.clientId) extra.client_id = spec.clientId;
    if (spec.workflowId) extra.extra_pnginfo = { workflow: { id: spec.workflowId } };
    queue.enqueue(number, id, graph, extra, outputNodes(graph), spec);
    return id;
  }

  return {
    kind,
    api,
    clock,
    server,
    seeds,
    submit,
    queue() {
      queue.advance();
      const running = queue.runningItem();
      return { running: running ? [running] : [], pending: queue.pendingItems() };
    },
    history() {
      queue.advance();
      return Object.fromEntries(queue.history);
    },
    historyEntry(id) {
      queue.advance();
      return queue.history.get(id);
    },
    stateOf(id) {
      queue.advance();
      if (queue.history.has(id)) return 'history';
      if (queue.runningItem()?.[1] === id) return 'running';
      return queue.isPending(id) ? 'pending' : 'absent';
    },
    close: () => server.close(),
  };
}
