// What an HTTP job API looks like to the gateway, declared: the profile of kind `http_jobs`. A
// profile says where a job's status is read, how a cancel is asked for and how its answer reads, how
// jobs are listed and paged, and where in each answer the fields are (JSON Pointers, RFC 6901, read
// with the json-ptr library). It states nothing about honesty: the engine (engine.ts) verifies every
// cancel by reading the job again, refuses an answer that names another job, and never makes up a
// status, whatever the profile says.
import * as z from 'zod';
import { JsonPointer } from 'json-ptr';
import { JOB_STATUSES } from '../../jobs/model.ts';

/** A JSON Pointer (RFC 6901): "" is the whole answer, "/a/0/b" a field inside it. */
export const pointer = z
  .string()
  .max(256)
  .refine(
    (p) => {
      try {
        JsonPointer.decode(p);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'a JSON Pointer (RFC 6901): "" or "/field/0/inner", with "~0" for "~" and "~1" for "/"' },
  );

/**
 * A request below the base URL. `path` is a template whose `{id}` segment is the job id, sent as one
 * percent-encoded segment (so an id can never change the path); other segments are fixed.
 */
const requestSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).default('GET'),
  path: z
    .string()
    .regex(
      /^(\/([A-Za-z0-9._~!$&'()*+,;=:@-]+|\{id\}))*\/?$/,
      'a path below base_url: "/segment/{id}/segment", each segment plain or {id}',
    ),
  query: z.record(z.string(), z.string()).optional().describe('Fixed query parameters.'),
});
export type ProfileRequest = z.output<typeof requestSchema>;

/** The unified words a profile maps the API's status words to (`unknown` is what an unmapped word becomes). */
const UNIFIED = JOB_STATUSES.filter((s) => s !== 'unknown') as ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

const fieldsSchema = z.strictObject({
  id: pointer.optional().describe("The job's id: an answer naming another job is refused."),
  status: pointer.describe("The API's status word."),
  created_at: pointer.optional(),
  started_at: pointer.optional(),
  completed_at: pointer.optional(),
  error: pointer.optional().describe('The error text of a failed job (kept in the result as data about the job).'),
  name: pointer.optional(),
  progress: pointer.optional().describe('A number from 0 to 1, or a percentage above 1.'),
  queue_position: pointer.optional(),
  details: z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a lowercase field name'), pointer)
    .optional()
    .describe('Named fields passed on in `details` (strings, numbers and booleans, each bounded).'),
});

/** How the answers of one request read: HTTP statuses meaning "no such job". */
const notFoundSchema = z.strictObject({
  http_status: z.array(z.number().int().min(400).max(599)).default([404]),
});

/**
 * A second read for words that do not tell how a job ended (fal's COMPLETED is said of a request that
 * succeeded, failed or was cancelled): the result route, whose answer tells. Its rules are read in
 * order, the first match wins; an answer no rule matches is `succeeded` when it is a 2xx, `failed`
 * (with the text at `error`) when it is another 4xx, and an error of the backend otherwise.
 */
const confirmSchema = z.strictObject({
  words: z.array(z.string().min(1)).min(1).describe('Status words the result route must confirm.'),
  request: requestSchema,
  answers: z
    .array(
      z.strictObject({
        http_status: z.array(z.number().int().min(200).max(499)).min(1),
        field: pointer.optional(),
        words: z.array(z.string()).optional(),
        means: z.enum(['succeeded', 'failed', 'cancelled']),
      }),
    )
    .default([]),
  error: pointer.optional().describe('The error text in the answer of a failed job.'),
});

const statusSchema = z.strictObject({
  request: requestSchema,
  fields: fieldsSchema,
  words: z
    .record(z.string().min(1), z.enum(UNIFIED))
    .describe("The API's status words and the unified status each means; a word not listed reads `unknown` (found) with the word kept."),
  not_found: notFoundSchema.prefault({}),
  confirm: confirmSchema.optional(),
});

/** What a cancel answer means, first matching rule wins; a 2xx answer with no rule is `requested`. */
const cancelRuleSchema = z.strictObject({
  http_status: z.array(z.number().int().min(200).max(599)).min(1),
  /** When given, the rule matches only when this field holds one of these words. */
  field: pointer.optional(),
  words: z.array(z.string()).optional(),
  means: z.enum(['requested', 'done', 'already_terminal', 'not_cancellable', 'not_found']),
});

const cancelSchema = z.strictObject({
  request: requestSchema,
  answers: z.array(cancelRuleSchema).default([]),
});

const pagingSchema = z.discriminatedUnion('style', [
  z.strictObject({ style: z.literal('none') }),
  z.strictObject({
    style: z.literal('offset'),
    offset_param: z.string().min(1),
    limit_param: z.string().min(1),
    max_limit: z.number().int().min(1).max(1000),
  }),
  z.strictObject({
    style: z.literal('cursor'),
    next: pointer.describe('The next cursor in the answer (absent or null: the last page).'),
    cursor_param: z.string().min(1),
  }),
  z.strictObject({ style: z.literal('next_url'), next: pointer.describe("The next page's URL in the answer; it must be below base_url.") }),
  z.strictObject({ style: z.literal('link_header') }),
]);

const listSchema = z.strictObject({
  request: requestSchema,
  items: pointer.describe('The array of jobs in the answer ("" when the answer is the array).'),
  paging: pagingSchema,
  order: z.enum(['newest_first']).default('newest_first'),
});

export const profileSchema = z.strictObject({
  job_id: z
    .strictObject({
      pattern: z.string().min(1).max(500).describe('A regular expression a job id must match (anchored).'),
      max_length: z.number().int().min(1).max(256).default(128),
      hint: z.string().max(200).optional().describe('Said to a caller whose id does not match.'),
    })
    .optional(),
  status: statusSchema,
  cancel: cancelSchema,
  list: listSchema.optional().describe('Absent: this API cannot list jobs, and list_jobs says so.'),
  rate_limit: z
    .strictObject({ requests: z.number().int().min(1).max(100_000), per_seconds: z.number().min(1).max(3600) })
    .optional()
    .describe('A request budget for this backend, shared by every replica through the state store.'),
});
export type Profile = z.output<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;
