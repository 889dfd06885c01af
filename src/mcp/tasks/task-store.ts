// Where tasks live: two maps of the state store, so that any replica answers a task's poll with no
// affinity (with `state.store: redis`; `memory` is this replica alone). A task's record is written
// once, when it is created; its end (completed with the call's result, or cancelled) is claimed
// once, by whichever replica comes first, so every tasks/get answers the same end. Each caller's
// live tasks are counted in a live set, so one caller cannot crowd out the others. Entries are
// keyed by a hash of the task id: the id is a bearer capability, and the store never holds it.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { cancelReportSchema, JOB_STATUSES } from '../../jobs/model.ts';
import type { JobWatch } from '../../jobs/job-service.ts';
import type { LiveSetAdd } from '../../state/live-set.ts';
import type { StateStore } from '../../state/store.ts';

/** A task as created: whose it is, the wait it keeps, and what its answers state. */
export interface TaskRecord {
  /** The creating caller's key (issuer and subject, or client): no one else finds the task. */
  readonly owner: string;
  readonly watch: JobWatch;
  /** ms on the gateway's clock */
  readonly createdAt: number;
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
}

/** How a task ended: completed with the call's result, or cancelled by its caller. */
export interface TaskEnd {
  readonly status: 'completed' | 'cancelled';
  /** When it ended (ms on the gateway's clock). */
  readonly at: number;
  readonly result?: CallToolResult | undefined;
}

export interface TaskStore {
  /**
   * Counts a task to come against its owner's live tasks, until `until` (ms), unless the owner holds
   * `max` live ones: then answers when the first of them ends. A task counts until it ends
   * (`release`) or its time passes.
   */
  admit(owner: string, taskId: string, until: number, max: number): Promise<LiveSetAdd>;
  /** The task no longer counts against its owner (it ended, or never became one). */
  release(owner: string, taskId: string): Promise<void>;
  create(taskId: string, record: TaskRecord): Promise<void>;
  record(taskId: string): Promise<TaskRecord | undefined>;
  end(taskId: string): Promise<TaskEnd | undefined>;
  /** Ends the task unless it has ended: answers the end it holds after, the first one claimed (`end` itself when this claim was first). */
  claimEnd(taskId: string, end: TaskEnd): Promise<TaskEnd>;
}

export interface TaskStoreOptions {
  now: () => number;
  /** Tasks kept at most (waits.max_tasks). */
  maxTasks: number;
  /** The longest a task lives (its longest wait plus the time its answer is kept). */
  maxAgeMs: number;
}

const watchSchema = z.strictObject({
  tool: z.enum(['get_job_status', 'cancel_job']),
  project_reference: z.string(),
  job_id: z.string(),
  baseline: z.enum(JOB_STATUSES).optional(),
  cancel: cancelReportSchema.optional(),
  startedAt: z.number(),
  seconds: z.number().positive(),
});
const recordSchema = z.strictObject({
  owner: z.string(),
  watch: watchSchema,
  createdAt: z.number(),
  ttlMs: z.number().positive(),
  pollIntervalMs: z.number().positive(),
});
const endSchema = z.strictObject({
  status: z.enum(['completed', 'cancelled']),
  at: z.number(),
  result: z.looseObject({ content: z.array(z.unknown()) }).optional(),
});

/** What a value read back from the store is when it has the shape, else undefined (never trusted blindly). */
const parser =
  <T>(schema: z.ZodType<T>) =>
  (value: unknown): T | undefined => {
    const parsed = schema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  };

export function createTaskStore(state: StateStore, options: TaskStoreOptions): TaskStore {
  const common = { maxEntries: options.maxTasks, maxAgeMs: options.maxAgeMs, now: options.now };
  const records = state.map<TaskRecord>({
    name: 'tasks',
    ...common,
    parse: parser(recordSchema) as (v: unknown) => TaskRecord | undefined,
  });
  const ends = state.map<TaskEnd>({ name: 'task-ends', ...common, parse: parser(endSchema) as (v: unknown) => TaskEnd | undefined });
  const held = state.liveSet({ name: 'tasks', now: options.now });
  const keyOf = (taskId: string) => createHash('sha256').update(taskId).digest('base64url');
  return {
    admit: (owner, taskId, until, max) => held.add(owner, keyOf(taskId), until, max),
    release: (owner, taskId) => held.remove(owner, keyOf(taskId)),
    create: (taskId, record) => records.set(keyOf(taskId), record),
    record: async (taskId) => (await records.get(keyOf(taskId)))?.value,
    end: async (taskId) => (await ends.get(keyOf(taskId)))?.value,
    claimEnd: async (taskId, end) => (await ends.claim(keyOf(taskId), end)).value,
  };
}
