// Reading an API's answers the way its profile says: fields found by JSON Pointer, rules matched on
// status codes and field values, and one job's record made into the unified report. Nothing here
// guesses: a field the pointers do not find is absent, a word the profile does not map is `unknown`.
import { JsonPointer } from 'json-ptr';
import { BackendError } from '../../jobs/backend-error.ts';
import { countOf, intOf, nonNegativeOf, numberOf, tagsOf, textOf } from '../../jobs/details.ts';
import { isTerminal, timesOf, toIsoTime, type JobStatus, type JobStatusReport } from '../../jobs/model.ts';
import { answerForAnotherJob, isAnswerFor, unexpectedShape, type HttpResponse } from '../http/http-client.ts';
import type { Pointers, Profile } from './profile.ts';

/** Longest error text kept of a failed job, as the other kinds keep. */
const MAX_ERROR = 2000;

/** Reading answers by the profile's pointers, and matching its rules. */
export interface AnswerReading {
  /** The value at a pointer; undefined when the pointer finds nothing (or the answer is not an object). */
  readonly at: (body: unknown, p: string | undefined) => unknown;
  /** The first of the pointers that finds a value other than null. */
  readonly first: (body: unknown, ps: Pointers | undefined) => unknown;
  /** A failed job's error text at the pointers: a string, a number, or an object written as JSON; bounded. */
  errorText(body: unknown, ps: Pointers | undefined): string | undefined;
  /** The first rule the answer matches (its status, and its field's value when the rule names one). */
  matchRule<R extends AnswerRule>(rules: readonly R[], res: HttpResponse, body: unknown): R | undefined;
}

/**
 * An AnswerReading whose pointers and patterns are compiled on first use and kept for the adapter's
 * life (json-ptr compiles a pointer into a function; compiling on every read made a changing record
 * cost a compilation per field). Every pointer and pattern passed in is one of the profile's, never
 * one from an answer, so it keeps at most as many as the profile holds.
 */
export function createAnswerReading(): AnswerReading {
  const pointers = new Map<string, JsonPointer>();
  const patterns = new Map<string, RegExp>();
  const at = (body: unknown, p: string | undefined): unknown => {
    if (p === undefined) return undefined;
    if (p === '') return body;
    if (typeof body !== 'object' || body === null) return undefined;
    let pointer = pointers.get(p);
    if (!pointer) pointers.set(p, (pointer = new JsonPointer(p)));
    return pointer.get(body);
  };
  const first = (body: unknown, ps: Pointers | undefined): unknown => {
    if (ps === undefined) return undefined;
    for (const p of typeof ps === 'string' ? [ps] : ps) {
      const v = at(body, p);
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  };
  const pattern = (source: string): RegExp => {
    let re = patterns.get(source);
    if (!re) patterns.set(source, (re = new RegExp(source, 'i')));
    return re;
  };
  return {
    at,
    first,
    errorText(body, ps) {
      const v = first(body, ps);
      if (typeof v === 'string') return v === '' ? undefined : v.slice(0, MAX_ERROR);
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      if (typeof v === 'object') return JSON.stringify(v).slice(0, MAX_ERROR);
      return undefined;
    },
    matchRule(rules, res, body) {
      for (const rule of rules) {
        if (!statusMatches(rule.http_status, res.status)) continue;
        if (rule.field !== undefined) {
          const v = at(body, rule.field);
          if (typeof v !== 'string') continue;
          if (rule.words !== undefined && !rule.words.includes(v)) continue;
          if (rule.matches !== undefined && !pattern(rule.matches).test(v)) continue;
        }
        return rule;
      }
      return undefined;
    },
  };
}

/** A body as JSON, or undefined when it is empty or not JSON (a rule on a field then does not match). */
export function bodyOf(res: HttpResponse): unknown {
  try {
    return res.text.trim() === '' ? undefined : JSON.parse(res.text);
  } catch {
    return undefined;
  }
}

/** A class ("2xx", "4xx") never holds a credential or rate problem: those match only when a rule names them. */
const NEVER_IN_A_CLASS = new Set([401, 403, 429]);

export interface AnswerRule {
  http_status: ReadonlyArray<number | '2xx' | '4xx'>;
  field?: string | undefined;
  words?: readonly string[] | undefined;
  matches?: string | undefined;
}

function statusMatches(codes: AnswerRule['http_status'], status: number): boolean {
  return codes.some((c) =>
    typeof c === 'number' ? c === status : !NEVER_IN_A_CLASS.has(status) && Math.floor(status / 100) === Number(c[0]),
  );
}

/** Code a profile cannot say: what a kind's records hold beyond its fields (each hook is named and documented where it is made). */
export interface ProfileHooks {
  /** The report of one record, refined from what the profile's fields made of it. */
  refine?(record: object, report: JobStatusReport): JobStatusReport;
}

/**
 * Who is wrong when an answer lacks the status where the profile says it is. An operator's profile
 * (`http_jobs`) may point at the wrong place: BACKEND_REJECTED names the pointer, so they can fix it.
 * A kind's built-in profile is the gateway's own: the answer is not the backend's documented shape,
 * BACKEND_UNAVAILABLE, as any other answer of the wrong shape.
 */
export type MissingStatusBlame = 'profile' | 'backend';

/** How one profile reads a job's record; `name` is the backend's, for its sentences. */
export function createRecordReader(profile: Profile, name: string, hooks: ProfileHooks = {}, blame: MissingStatusBlame = 'profile') {
  const answers = createAnswerReading();
  const { at, first } = answers;
  const fields = profile.status.fields;
  const words = new Map(Object.entries(profile.status.words).map(([w, s]) => [w.toLowerCase(), s] as const));
  const statusPointers = typeof fields.status === 'string' ? [fields.status] : fields.status;
  const holdsStatus = (v: unknown): boolean => typeof v === 'object' && v !== null && first(v, fields.status) !== undefined;

  /** The job's record in an answer: the first `record` pointer holding a status, else the first holding an object. */
  function recordIn(body: unknown): object | undefined {
    const places = profile.status.record.map((p) => at(body, p));
    const record = places.find(holdsStatus) ?? places.find((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    return record as object | undefined;
  }

  /** Throws when an answer names another job than `jobId`: in the record, or at `answer_ids`. */
  function checkNames(jobId: string, body: unknown, record: object | undefined, res: HttpResponse): void {
    if (record !== undefined && !isAnswerFor(jobId, at(record, fields.id))) throw answerForAnotherJob(name, res);
    for (const p of profile.status.answer_ids) if (!isAnswerFor(jobId, at(body, p))) throw answerForAnotherJob(name, res);
  }

  /** The report of one record. */
  function report(record: object, res: HttpResponse): JobStatusReport {
    const raw = first(record, fields.status);
    if (typeof raw !== 'string' || raw === '') {
      if (blame === 'backend') throw unexpectedShape(name, res, `a ${profile.job_noun}`);
      throw new BackendError(
        'BACKEND_REJECTED',
        `Backend "${name}" answered without a status where its profile says the status is (${statusPointers.join(', ')}).`,
        { httpStatus: res.status, detail: res.redactedExcerpt() },
      );
    }
    const status: JobStatus = words.get(raw.toLowerCase()) ?? 'unknown';
    const jobName = textOf(first(record, fields.name));
    const position = at(record, fields.queue_position);
    const progress = at(record, fields.progress);
    const details = detailsOf(record);
    const made: JobStatusReport = {
      found: true,
      status,
      raw_status: raw.slice(0, 64),
      ...timesOf({
        created: first(record, fields.created_at),
        started: first(record, fields.started_at),
        completed: isTerminal(status) ? first(record, fields.completed_at) : undefined,
      }),
      ...(jobName !== undefined ? { name: jobName } : {}),
      ...(status === 'queued' && Number.isInteger(position) && (position as number) >= 0 ? { queue_position: position as number } : {}),
      ...(typeof progress === 'number' && Number.isFinite(progress) && progress >= 0
        ? { progress: { value: progress, max: progress > 1 ? 100 : 1 } }
        : {}),
      ...(status === 'failed' ? { error: errorOf(record) } : {}),
      ...(details ? { details } : {}),
    };
    return hooks.refine ? hooks.refine(record, made) : made;
  }

  function errorOf(record: object): NonNullable<JobStatusReport['error']> {
    const message = answers.errorText(record, fields.error) ?? `the ${profile.job_noun} failed (${name} gave no error text)`;
    const type = textOf(at(record, fields.error_type));
    const node = textOf(at(record, fields.error_node));
    return { message, ...(type !== undefined ? { type } : {}), ...(node !== undefined ? { node } : {}) };
  }

  function detailsOf(record: object): Record<string, unknown> | undefined {
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(fields.details ?? {})) {
      const { at, as } = typeof spec === 'string' ? { at: spec, as: 'auto' as const } : spec;
      const v = first(record, at);
      const value =
        as === 'auto'
          ? typeof v === 'boolean'
            ? v
            : (numberOf(v) ?? textOf(v))
          : as === 'text'
            ? textOf(v)
            : as === 'number'
              ? numberOf(v)
              : as === 'int'
                ? intOf(v)
                : as === 'count'
                  ? Array.isArray(v)
                    ? v.length
                    : countOf(v)
                  : as === 'nonnegative'
                    ? nonNegativeOf(v)
                    : as === 'time'
                      ? toIsoTime(v)
                      : tagsOf(v);
      if (value !== undefined) out[key] = value;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  return {
    answers,
    recordIn,
    checkNames,
    report,
    /** A record of a list answer: its report and id (a listed job without one is refused). */
    listed(item: unknown, res: HttpResponse): JobStatusReport & { job_id: string } {
      // An item that is not a job with a status means the answer is not the list the profile describes.
      if (typeof item !== 'object' || item === null || typeof first(item, fields.status) !== 'string')
        throw unexpectedShape(name, res, 'a list of jobs');
      const id = at(item, fields.id);
      if (typeof id !== 'string' && typeof id !== 'number') throw unexpectedShape(name, res, 'a list of jobs with their ids');
      return { job_id: String(id), ...report(item as object, res) };
    },
  };
}

export type RecordReader = ReturnType<typeof createRecordReader>;
