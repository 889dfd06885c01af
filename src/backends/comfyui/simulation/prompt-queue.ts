// ComfyUI's PromptQueue and its one worker: a heap of pending prompts, the running one, and the
// history. States are derived from the clock (no timers): `advance` runs the worker forward to now,
// finishing runs whose end has come and starting the next ones. An interrupt is cooperative: the
// running job stops `interruptLatencyMs` later (or finishes on its own first), and the flag is reset
// when the next prompt starts, so an interrupt while idle is harmless.
import type { Clock } from '../../../simulation/clock.ts';
import { cacheKeys, classOf, executionOrder, OUTPUT_NODE_TYPES } from './graph.ts';
import { heapify, heapPop, heapPush } from './heapq.ts';
import type { ComfyGraph, ComfyuiApi, HistoryEntry, HistoryMessage, QueueItem, Running, SubmitOptions, Task } from './types.ts';

export type RunEnd = 'success' | 'error' | 'interrupted';

export const DEFAULT_ERROR_MESSAGE =
  'CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 1.12 GiB is free.';
export const DEFAULT_ERROR_TYPE = 'torch.OutOfMemoryError';

export interface PromptQueueOptions {
  api: ComfyuiApi;
  clock: Clock;
  /** Tags temp file names, so two hosts' previews differ. */
  namespaceTag: string;
  interruptLatencyMs: number;
  promptDurationMs: number;
  historyLimit: number;
}

export type PromptQueue = ReturnType<typeof createPromptQueue>;

export function createPromptQueue(options: PromptQueueOptions) {
  const { api, clock, namespaceTag } = options;
  const heap: Task[] = [];
  let running: Running | null = null;
  let workerFreeAt = clock.now();
  const history = new Map<string, HistoryEntry>();
  let serverNumber = 0; // PromptServer.number
  let imageCounter = 1;
  /** The files output nodes wrote, as [type, subfolder, filename] JSON. */
  const written = new Set<string>();
  /**
   * The outputs cache (ComfyUI's classic cache): the nodes of the last run by cache key, with the files
   * an output node wrote. A node of the next run with the same key is not run again: it is reported in
   * execution_cached, and an output node's files are those of the earlier run.
   */
  let cache = new Map<string, Record<string, unknown> | undefined>();

  function endOf(r: Running): { at: number; how: RunEnd } {
    const natural = r.startedAt + r.task.durationMs;
    const stop = r.interruptAt === null ? Infinity : r.interruptAt + options.interruptLatencyMs;
    if (stop < natural) return { at: stop, how: 'interrupted' };
    return { at: natural, how: r.task.ending };
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

  /** task_done: trims the oldest entry first, then `history[prompt_id] = …`, which keeps a reused id's place. */
  function addHistory(id: string, entry: HistoryEntry): void {
    while (history.size >= options.historyLimit && !history.has(id)) history.delete(history.keys().next().value!);
    history.set(id, entry);
  }

  /** The files the output nodes among `nodes` wrote; `cached` ones show what they wrote before. */
  function outputsFor(
    graph: ComfyGraph,
    nodes: readonly string[],
    cached: ReadonlyMap<string, Record<string, unknown> | undefined>,
  ): Pick<HistoryEntry, 'outputs' | 'meta'> {
    const outputs: HistoryEntry['outputs'] = {};
    const meta: HistoryEntry['meta'] = {};
    for (const id of nodes) {
      const cls = classOf(graph, id);
      if (!OUTPUT_NODE_TYPES.has(cls)) continue;
      meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
      const before = cached.get(id);
      if (before) {
        outputs[id] = before;
        continue;
      }
      const n = String(imageCounter++).padStart(5, '0');
      const temp = cls === 'PreviewImage';
      const filename = temp ? `ComfyUI_temp_${namespaceTag}_${n}_.png` : `ComfyUI_${n}_.png`;
      written.add(JSON.stringify([temp ? 'temp' : 'output', '', filename]));
      outputs[id] = {
        images: [
          {
            filename,
            subfolder: '',
            type: temp ? 'temp' : 'output',
          },
        ],
      };
    }
    return { outputs, meta };
  }

  /** The history entry of a finished run, as task_done records it. */
  function buildEntry(r: Running, endedAt: number, how: RunEnd): HistoryEntry {
    const [, id, graph, , outs] = r.task.item;
    const all = executionOrder(graph, outs);
    const keys = cacheKeys(graph, all);
    // Nodes whose output the last run left in the cache are not run (an output node's files are reused).
    const cached = new Map(all.filter((n) => cache.has(keys.get(n)!)).map((n) => [n, cache.get(keys.get(n)!)]));
    const order = all.filter((n) => !cached.has(n));
    const messages: HistoryMessage[] = [
      ['execution_start', { prompt_id: id, timestamp: r.startedAt }],
      ['execution_cached', { nodes: [...cached.keys()], prompt_id: id, timestamp: r.startedAt }],
    ];
    /** The cache after this run: the nodes it ran or reused (the classic cache drops the others). */
    const keep = (ran: readonly string[], outputs: HistoryEntry['outputs']) => {
      cache = new Map([...cached.keys(), ...ran].map((n) => [keys.get(n)!, outputs[n]]));
    };
    if (how === 'success') {
      messages.push(['execution_success', { prompt_id: id, timestamp: endedAt }]);
      const done = outputsFor(graph, all, cached);
      keep(order, done.outputs);
      return { prompt: r.task.item, ...done, status: { status_str: 'success', completed: true, messages } };
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
    const partial = outputsFor(graph, [...cached.keys(), ...executed], cached);
    keep(executed, partial.outputs);
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
      messages.push([
        'execution_interrupted',
        { prompt_id: id, node_id: node, node_type: classOf(graph, node), executed, timestamp: endedAt },
      ]);
    }
    return { prompt: r.task.item, ...partial, status: { status_str: 'error', completed: false, messages } };
  }

  return {
    api,
    clock,
    history,
    advance,

    /** PromptServer.number for the next prompt (negated for `front`), then counted up. */
    nextNumber(front = false): number {
      const n = front ? -serverNumber : serverNumber;
      serverNumber++;
      return n;
    },

    /** Whether an output node wrote this file (GET /view serves it). */
    wrote(file: { filename: string; subfolder: string; type: string }): boolean {
      return written.has(JSON.stringify([file.type, file.subfolder, file.filename]));
    },

    knownId(id: string): boolean {
      return history.has(id) || running?.task.item[1] === id || heap.some((t) => t.item[1] === id);
    },

    /** PromptQueue.put: queues a prompt now (current servers stamp create_time). */
    enqueue(number: number, id: string, graph: ComfyGraph, extra: Record<string, unknown>, outs: string[], spec: SubmitOptions): void {
      const now = clock.now();
      if (api === 'jobs') extra.create_time = now; // older servers do not stamp create_time
      heapPush(heap, {
        item: [number, id, graph, extra, outs],
        durationMs: Math.max(0, spec.durationMs ?? options.promptDurationMs),
        ending: spec.ending ?? 'success',
        errorNode: spec.errorNode,
        errorMessage: spec.errorMessage ?? DEFAULT_ERROR_MESSAGE,
        errorType: spec.errorType ?? DEFAULT_ERROR_TYPE,
        enqueuedAt: now,
      });
      advance(now);
    },

    /** delete_queue_item: removes the first pending match; pop + heapify like the real server. */
    deletePending(id: string): boolean {
      const i = heap.findIndex((t) => t.item[1] === id);
      if (i === -1) return false;
      if (heap.length === 1) heap.length = 0;
      else {
        heap.splice(i, 1);
        heapify(heap);
      }
      return true;
    },

    /** wipe_queue: the running job is untouched. */
    clearPending(): void {
      heap.length = 0;
    },

    isPending(id: string): boolean {
      return heap.some((t) => t.item[1] === id);
    },

    /** nodes.interrupt_processing(): sets the global flag; only a running job notices it. */
    interrupt(at = clock.now()): void {
      if (running && running.interruptAt === null) running.interruptAt = at;
    },

    runningItem(): QueueItem | undefined {
      return running?.task.item;
    },

    pendingItems(): QueueItem[] {
      return heap.map((t) => t.item);
    },

    pendingItem(id: string): QueueItem | undefined {
      return heap.find((t) => t.item[1] === id)?.item;
    },

    // -- seeding: jobs that ran, run or wait since before the simulation started --------------

    addFinished(task: Task, startedAt: number, endedAt: number, how: RunEnd): void {
      addHistory(task.item[1], buildEntry({ task, startedAt, interruptAt: null }, endedAt, how));
    },

    setRunning(task: Task, startedAt: number): void {
      running = { task, startedAt, interruptAt: null };
    },

    addPending(task: Task): void {
      heapPush(heap, task);
    },
  };
}
