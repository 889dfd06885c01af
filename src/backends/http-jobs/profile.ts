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

/** One pointer, or several read in order: the first that finds a value (not null) is the field. */
const pointers = z.union([pointer, z.array(pointer).min(1).max(8)]);
export type Pointers = z.output<typeof pointers>;

/**
 * HTTP statuses a rule matches: exact codes, or "2xx"/"4xx" for the class (a class never holds 401,
 * 403 or 429: a credential or rate problem is never a job's answer unless a rule names it exactly).
 */
const httpStatuses = z.array(z.union([z.number().int().min(200).max(599), z.enum(['2xx', '4xx'])])).min(1);

/** A condition on a field of the answer: it holds one of `words`, or a string `matches` finds (case-insensitive). */
const fieldCondition = {
  field: pointer.optional(),
  words: z.array(z.string()).optional(),
  matches: z.string().min(1).max(500).optional().describe('A regular expression (case-insensitive) the field must match.'),
};

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

/** How a detail field is read: `auto` passes a string, number or boolean on as it is. */
export const DETAIL_FORMS = ['auto', 'text', 'number', 'int', 'count', 'nonnegative', 'time', 'tags'] as const;
const detailSchema = z.union([
  pointer,
  z.strictObject({
    at: pointers,
    as: z
      .enum(DETAIL_FORMS)
      .default('auto')
      .describe(
        "text: a string (or a number as one); count: a non-negative integer or an array's length; time: ISO 8601 from epoch seconds, ms or a date; tags: strings of an array.",
      ),
  }),
]);

const fieldsSchema = z.strictObject({
  id: pointer.optional().describe("The job's id: an answer naming another job is refused."),
  status: pointers.describe("The API's status word."),
  created_at: pointers.optional(),
  started_at: pointers.optional(),
  completed_at: pointers.optional().describe('Read for a finished job only (a job still running has not completed).'),
  error: pointers.optional().describe('The error text of a failed job (kept in the result as data about the job).'),
  error_type: pointer.optional().describe("The kind of a failed job's error (an exception type, a reason code)."),
  error_node: pointer.optional().describe('Where in a workflow the job failed (a node id).'),
  name: pointers.optional(),
  progress: pointer.optional().describe('A number from 0 to 1, or a percentage above 1.'),
  queue_position: pointer.optional(),
  details: z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a lowercase field name'), detailSchema)
    .optional()
    .describe('Named fields passed on in `details` (strings, numbers and booleans, each bounded).'),
});

/**
 * How "no such job" looks: these HTTP statuses, or an answer matching one of `answers` (a 403 whose
 * message says the job is another tenant's). `probe` settles a status that may mean either "not
 * yours" or "bad credentials": a request that needs the same credentials and no job; when it
 * succeeds, the credentials are fine and the job is not found.
 */
const notFoundSchema = z.strictObject({
  http_status: z.array(z.number().int().min(400).max(599)).default([404]),
  answers: z.array(z.strictObject({ http_status: httpStatuses, ...fieldCondition })).default([]),
  probe: z
    .strictObject({
      on: z.array(z.number().int().min(400).max(499)).min(1),
      request: requestSchema,
    })
    .optional(),
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
        http_status: httpStatuses,
        ...fieldCondition,
        means: z.enum(['succeeded', 'failed', 'cancelled']),
      }),
    )
    .default([]),
  error: pointer.optional().describe('The error text in the answer of a failed job.'),
});

const statusSchema = z.strictObject({
  request: requestSchema,
  record: z
    .array(pointer)
    .min(1)
    .max(4)
    .default([''])
    .describe(
      'Where the job is in an answer: the first of these holding the status (an envelope such as {"data": job}); "" is the answer itself.',
    ),
  answer_ids: z
    .array(pointer)
    .max(4)
    .default([])
    .describe("Ids elsewhere in an answer (an envelope's meta), from the answer's root: each one present must name the job asked for."),
  fields: fieldsSchema,
  words: z
    .record(z.string().min(1), z.enum(UNIFIED))
    .describe("The API's status words and the unified status each means; a word not listed reads `unknown` (found) with the word kept."),
  not_found: notFoundSchema.prefault({}),
  confirm: confirmSchema.optional(),
});

/**
 * What a cancel answer means, first matching rule wins; a 2xx answer with no rule is `requested`. The
 * job is read after every meaning but `not_found`, and that read decides: `already_terminal` and
 * `not_cancellable` are believed only when the read agrees (a finished job; a job in one of
 * `refused_while`'s words, or still running for `not_cancellable`).
 */
const cancelRuleSchema = z.strictObject({
  http_status: httpStatuses,
  ...fieldCondition,
  means: z.enum(['requested', 'done', 'already_terminal', 'not_cancellable', 'not_found']),
});

const cancelSchema = z.strictObject({
  request: requestSchema,
  answers: z.array(cancelRuleSchema).default([]),
  reason_field: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)
    .optional()
    .describe("Send the caller's reason as this field of a JSON body (when the caller gives one)."),
  refused_while: z
    .array(z.string().min(1))
    .default([])
    .describe('Status words during which the API refuses a cancel though the job has not finished: such a refusal is not_cancellable.'),
});

const total = pointer.optional().describe('How many jobs there are in all; absent: a short page is the last.');
const pagingSchema = z.discriminatedUnion('style', [
  z.strictObject({ style: z.literal('none') }),
  z.strictObject({
    style: z.literal('offset'),
    offset_param: z.string().min(1),
    limit_param: z.string().min(1),
    max_limit: z.number().int().min(1).max(1000),
    total,
  }),
  z.strictObject({
    style: z.literal('page'),
    page_param: z.string().min(1),
    per_page_param: z.string().min(1),
    per_page: z.number().int().min(1).max(1000).describe('Always asked for: page numbers only mean something for one page size.'),
    first_page: z.number().int().min(0).max(1).default(1),
    total,
  }),
  z.strictObject({
    style: z.literal('cursor'),
    next: pointer.describe('The next cursor in the answer (absent or null: the last page); a URL there gives its cursor_param.'),
    cursor_param: z.string().min(1),
    limit_param: z.string().min(1).optional(),
    max_limit: z.number().int().min(1).max(1000).default(100),
  }),
  z.strictObject({ style: z.literal('next_url'), next: pointer.describe("The next page's URL in the answer; it must be below base_url.") }),
  z.strictObject({ style: z.literal('link_header') }),
]);

const listSchema = z.strictObject({
  request: requestSchema,
  items: pointer.describe('The array of jobs in the answer ("" when the answer is the array).'),
  paging: pagingSchema,
  order: z.enum(['newest_first']).default('newest_first'),
  status_filter: z
    .strictObject({
      param: z.string().min(1),
      words: z.partialRecord(z.enum(UNIFIED), z.array(z.string().min(1)).min(1)),
    })
    .optional()
    .describe(
      "The API's status filter: the query parameter, and the words it takes for each unified status. It is sent when one word selects exactly what the caller asked; the gateway filters the rest itself.",
    ),
  max_pages: z.number().int().min(1).max(10).default(3).describe('API pages one filtered listing call reads at most to fill its page.'),
});

/** What the API calls a job, in the gateway's sentences. */
export const jobNoun = z
  .string()
  .regex(/^[a-z][a-z -]{0,30}$/, 'lowercase words')
  .describe('What the API calls a job, in the gateway\'s sentences ("workflow", "prediction"); "job" by default.');

export const profileSchema = z.strictObject({
  job_noun: jobNoun.default('job'),
  job_id: z
    .strictObject({
      pattern: z.string().min(1).max(500).describe('A regular expression a job id must match (anchored).'),
      max_length: z.number().int().min(1).max(256).default(128),
      hint: z.string().max(200).optional().describe('Said to a caller whose id does not match.'),
      lowercase: z
        .boolean()
        .default(false)
        .describe('Ids compare without case (UUIDs): the pattern matches either case and the id is sent in lowercase.'),
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
