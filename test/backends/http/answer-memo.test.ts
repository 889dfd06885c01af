import { describe, expect, it } from 'vitest';
import { createAnswerMemo } from '../../../src/backends/http/answer-memo.ts';
import type { JobStatusReport } from '../../../src/jobs/model.ts';

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

  it('hands out the very report it made again, and the report types keep every holder from changing it', () => {
    const memo = createAnswerMemo<JobStatusReport>();
    const make = (): JobStatusReport => ({
      found: true,
      status: 'failed',
      raw_status: 'FAILED',
      error: { message: 'out of memory' },
      outputs: [{ node: '9', media: 'images', filename: 'a.png', subfolder: '', type: 'output' }],
      details: { tags: ['a'] },
    });
    const first = memo.reuse('job-1', '{}', make);
    const again = memo.reuse('job-1', '{}', make);
    expect(again).toBe(first);
    expect(again).toEqual(make());
    // Checked by the compiler (npm run typecheck): a report is readonly all the way down.
    const change = (r: JobStatusReport) => {
      // @ts-expect-error a report's own fields are readonly
      r.status = 'succeeded';
      // @ts-expect-error so are nested objects
      r.error!.message = 'changed';
      // @ts-expect-error and arrays
      r.outputs![0] = r.outputs![0]!;
      // @ts-expect-error and the details
      r.details!.tags = [];
    };
    expect(typeof change).toBe('function');
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
