// What the simulated ComfyUI server holds, in the shapes its HTTP answers show.
import type { Clock } from '../../../simulation/clock.ts';
import type { Simulation } from '../../../simulation/simulation.ts';

/** 'jobs': a current server (jobs API, targeted interrupt, prompt-id check); 'legacy': a server from before all three. */
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
  /** false: a server from before GET /history took `offset` (it answers the newest `max_items`); default true. */
  historyOffset?: boolean;
}

export interface SubmitOptions {
  /** Run time once the worker picks it up (default: promptDurationMs). */
  durationMs?: number;
  /** How the run ends (default 'success'). */
  ending?: 'success' | 'error';
  /** 'error': the failing node (default: the sampler). */
  errorNode?: string;
  errorMessage?: string;
  errorType?: string;
  /** Client-supplied prompt id (default: a fresh UUID); a legacy server takes one it already holds again. */
  promptId?: string;
  /** Explicit priority `number`; else the server counter (negated with `front`). */
  number?: number;
  front?: boolean;
  prompt?: ComfyGraph;
  clientId?: string;
  workflowId?: string;
}

export interface ComfyuiSim extends Simulation<'comfyui' | 'comfyui_legacy'> {
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

/** A queued prompt and how its run will go. */
export interface Task {
  item: QueueItem;
  durationMs: number;
  ending: 'success' | 'error';
  errorNode: string | undefined;
  errorMessage: string;
  errorType: string;
  enqueuedAt: number;
}

export interface Running {
  task: Task;
  startedAt: number;
  /** When the interrupt flag was set during this run (null: not interrupted). */
  interruptAt: number | null;
}
