// What an adapter made of the last answer it read for each job. An agent waiting on a job polls it,
// and the backend answers the same bytes until the job changes; parsing, validating and mapping them
// again on every poll was the largest single cost of a status call in the profile. Only the very same
// text for the very same job id is reused, so the report is the one the adapter would make again.
// Handed out a second time, a report is shared between calls, so it is frozen then (not before: a
// job whose answer changes on every read pays nothing for it). Bounded in entries and in characters.

export interface AnswerMemoLimits {
  /** Jobs remembered (oldest out first). */
  entries: number;
  /** An answer longer than this (in characters) is not kept. */
  maxTextLength: number;
  /** All kept answers together (in characters). */
  totalTextLength: number;
}

export const DEFAULT_ANSWER_MEMO_LIMITS: AnswerMemoLimits = { entries: 1000, maxTextLength: 16 * 1024, totalTextLength: 2 * 1024 * 1024 };

export interface AnswerMemo<T extends object> {
  /**
   * The report of `text`, the answer just read for `jobId`: the one made last for this job if its
   * answer was the same text (frozen), else the one `make()` returns (kept for next time). `make()`
   * throwing (an answer the adapter refuses) keeps nothing.
   */
  reuse(jobId: string, text: string, make: () => T): T;
}

export function createAnswerMemo<T extends object>(limits: AnswerMemoLimits = DEFAULT_ANSWER_MEMO_LIMITS): AnswerMemo<T> {
  const last = new Map<string, { text: string; report: T; shared: boolean }>();
  let held = 0;
  const forget = (jobId: string) => {
    const e = last.get(jobId);
    if (!e) return;
    held -= e.text.length;
    last.delete(jobId);
  };
  return {
    reuse(jobId, text, make) {
      const seen = last.get(jobId);
      if (seen && seen.text === text) {
        if (!seen.shared) {
          deepFreeze(seen.report);
          seen.shared = true;
        }
        return seen.report;
      }
      const report = make();
      forget(jobId);
      if (text.length <= limits.maxTextLength) {
        last.set(jobId, { text, report, shared: false });
        held += text.length;
        while (last.size > limits.entries || held > limits.totalTextLength) forget(last.keys().next().value!);
      }
      return report;
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
