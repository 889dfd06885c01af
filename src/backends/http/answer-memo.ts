// What an adapter made of the last answer it read for each job. An agent waiting on a job polls it,
// and the backend answers the same bytes until the job changes, so the adapter parses, validates and
// maps them once (docs/performance.md, the adapters' memo). Bounded in entries and in characters.
//
// The contract: the key is (job id, the exact text of the answer), the value is the report the
// adapter makes from that text. Reusing it is right because the report depends on nothing else: the
// adapter's config is fixed for the memo's life, and the report is readonly (its type says so, all
// the way down), so every holder of a reused report sees what the adapter made.

export interface AnswerMemoLimits {
  /** Jobs remembered (oldest out first). */
  entries: number;
  /** An answer longer than this (in characters) is not kept. */
  maxTextLength: number;
  /** All kept answers together (in characters). */
  totalTextLength: number;
}

export const DEFAULT_ANSWER_MEMO_LIMITS: AnswerMemoLimits = { entries: 1000, maxTextLength: 16 * 1024, totalTextLength: 2 * 1024 * 1024 };

/** `T`: a readonly report type (e.g. JobStatusReport), so a report handed out twice is never changed by either holder. */
export interface AnswerMemo<T extends object> {
  /**
   * The report of `text`, the answer just read for `jobId`: the one made last for this job if its
   * answer was the same text, else the one `make()` returns (kept for next time). `make()` throwing
   * (an answer the adapter refuses) keeps nothing.
   */
  reuse(jobId: string, text: string, make: () => T): T;
}

export function createAnswerMemo<T extends object>(limits: AnswerMemoLimits = DEFAULT_ANSWER_MEMO_LIMITS): AnswerMemo<T> {
  const last = new Map<string, { text: string; report: T }>();
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
      if (seen && seen.text === text) return seen.report;
      const report = make();
      forget(jobId);
      if (text.length <= limits.maxTextLength) {
        last.set(jobId, { text, report });
        held += text.length;
        while (last.size > limits.entries || held > limits.totalTextLength) forget(last.keys().next().value!);
      }
      return report;
    },
  };
}
