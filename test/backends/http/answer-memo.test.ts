import { describe, expect, it } from 'vitest';
import { createAnswerMemo } from '../../../src/backends/http/answer-memo.ts';

interface Report {
  status: string;
  details?: { tags: string[] };
}

const counting = () => {
  let made = 0;
  return {
    make: (status: string) => () => {
      made++;
      return { status, details: { tags: ['a'] } } as Report;
    },
    made: () => made,
  };
};

describe('answer memo', () => {
  it('reuses the report of the same answer text for the same job, and makes a new one when the text changes', () => {
    const memo = createAnswerMemo<Report>();
    const c = counting();
    const first = memo.reuse('job-1', '{"status":"RUNNING"}', c.make('running'));
    expect(memo.reuse('job-1', '{"status":"RUNNING"}', c.make('running'))).toBe(first);
    expect(c.made()).toBe(1);
    expect(memo.reuse('job-1', '{"status":"COMPLETED"}', c.make('succeeded')).status).toBe('succeeded');
    expect(c.made()).toBe(2);
  });

  it('never gives one job the report of another job, even for the same text', () => {
    const memo = createAnswerMemo<Report>();
    const c = counting();
    memo.reuse('job-1', '{}', c.make('running'));
    expect(memo.reuse('job-2', '{}', c.make('queued')).status).toBe('queued');
    expect(c.made()).toBe(2);
  });

  it('freezes a report it hands out again, nested objects included: a caller cannot change what the next one gets', () => {
    const memo = createAnswerMemo<Report>();
    const c = counting();
    const first = memo.reuse('job-1', '{}', c.make('running'));
    expect(Object.isFrozen(first)).toBe(false); // only this call has it so far
    const report = memo.reuse('job-1', '{}', c.make('running'));
    expect(report).toBe(first);
    expect(Object.isFrozen(report)).toBe(true);
    expect(Object.isFrozen(report.details!.tags)).toBe(true);
    expect(() => {
      (report as { status: string }).status = 'failed';
    }).toThrow(TypeError);
  });

  it('keeps nothing for an answer the adapter refuses', () => {
    const memo = createAnswerMemo<Report>();
    expect(() =>
      memo.reuse('job-1', 'garbage', () => {
        throw new Error('not a job');
      }),
    ).toThrow('not a job');
    const c = counting();
    memo.reuse('job-1', 'garbage', c.make('running'));
    expect(c.made()).toBe(1);
  });

  it('stays within its bounds: the oldest job goes first, and a long answer is not kept', () => {
    const memo = createAnswerMemo<Report>({ entries: 2, maxTextLength: 10, totalTextLength: 15 });
    const c = counting();
    memo.reuse('a', '12345', c.make('running'));
    memo.reuse('b', '12345', c.make('running'));
    memo.reuse('c', '12345', c.make('running')); // a third entry: "a" goes
    expect(c.made()).toBe(3);
    memo.reuse('b', '12345', c.make('running'));
    memo.reuse('c', '12345', c.make('running'));
    expect(c.made()).toBe(3);
    memo.reuse('a', '12345', c.make('running'));
    expect(c.made()).toBe(4);

    memo.reuse('long', '12345678901', c.make('running')); // longer than maxTextLength
    memo.reuse('long', '12345678901', c.make('running'));
    expect(c.made()).toBe(6);

    const byLength = createAnswerMemo<Report>({ entries: 10, maxTextLength: 10, totalTextLength: 15 });
    const d = counting();
    byLength.reuse('x', '1234567890', d.make('running'));
    byLength.reuse('y', '1234567890', d.make('running')); // 20 characters held: "x" goes
    byLength.reuse('x', '1234567890', d.make('running'));
    expect(d.made()).toBe(3);
  });
});
