// The shapes of ComfyUI answers the adapter relies on (docs/backends.md, ComfyUI's jobs API and
// legacy routes); everything else in an answer is passed over.
import * as z from 'zod';

export const JOB_API_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
const num = z.number().nullish();
const messagesSchema = z.array(z.unknown()).nullish();
const historyStatusSchema = z
  .looseObject({ status_str: z.string().nullish(), completed: z.boolean().nullish(), messages: messagesSchema })
  .nullish();

/** GET /api/jobs/{id}. */
export const jobSchema = z.looseObject({
  id: z.string(),
  status: z.enum(JOB_API_STATUSES),
  priority: num,
  create_time: num,
  execution_start_time: num,
  execution_end_time: num,
  execution_error: z.record(z.string(), z.unknown()).nullish(),
  outputs: z.record(z.string(), z.unknown()).nullish(),
  execution_status: historyStatusSchema,
});
export type JobObject = z.infer<typeof jobSchema>;

/** GET /api/jobs?status=pending (the compact list). */
export const jobListSchema = z.looseObject({
  jobs: z.array(z.looseObject({ id: z.string(), status: z.string(), priority: z.number().nullish() })),
});

/** POST /api/jobs/{id}/cancel. */
export const cancelAnswerSchema = z.looseObject({ cancelled: z.boolean() });

/** A /queue item: [number, prompt_id, prompt, extra_data, outputs_to_execute]. */
const queueItemSchema = z.tuple([z.number(), z.string()], z.unknown());
export const queueSchema = z.looseObject({ queue_running: z.array(queueItemSchema), queue_pending: z.array(queueItemSchema) });
export type QueueItem = z.infer<typeof queueItemSchema>;
export type Queue = z.infer<typeof queueSchema>;
/** A /queue answer shared between calls (legacy-api.ts): nobody may change it. */
export type SharedQueue = {
  readonly queue_running: readonly Readonly<QueueItem>[];
  readonly queue_pending: readonly Readonly<QueueItem>[];
};

/** One entry of GET /history/{id}. */
export const historyEntrySchema = z.looseObject({
  prompt: z.array(z.unknown()).nullish(),
  outputs: z.record(z.string(), z.unknown()).nullish(),
  status: historyStatusSchema,
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;
export type HistoryStatus = HistoryEntry['status'];
