// The shared paging of list_jobs over an offset-paged, newest-first backend list: every job once, no
// job listed twice when newer ones push the list down, local filtering within a bounded number of
// backend reads, and positions that could not have come from the gateway refused.
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { isBackendError } from '../../src/jobs/backend-error.ts';
import {
  listedBefore,
  offsetPositionSchema,
  positionOf,
  singleRawFilter,
  walkOffsetPages,
  type ListedJob,
  type OffsetPage,
  type OffsetPosition,
} from '../../src/jobs/listing.ts';
import type { JobStatus } from '../../src/jobs/model.ts';

const T0 = Date.parse('2026-11-01T12:00:00Z');

interface Item {
  id: string;
  /** Creation time, ms. */
  t: number;
  status: JobStatus;
}

/** `n` items newest first: item-0 is the newest, one second apart. */
function items(n: number, statusOf: (i: number) => JobStatus = () => 'succeeded', prefix = 'item'): Item[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, t: T0 - i * 1000, status: statusOf(i) }));
}

/** A backend's newest-first list, read `pageSize` items at a time from an offset; items can be added in front. */
function fakeBackend(initial: Item[], pageSize: number) {
  const list = [...initial];
  const reads: number[] = [];
  return {
    list,
    reads,
    addNewest(...newer: Item[]) {
      list.unshift(...newer);
    },
    async fetch(offset: number): Promise<OffsetPage<Item>> {
      reads.push(offset);
      const page = list.slice(offset, offset + pageSize);
      return { items: page, hasMore: offset + page.length < list.length };
    },
  };
}

function toJob(statuses?: readonly JobStatus[]) {
  return (item: Item): ListedJob | undefined =>
    statuses && !statuses.includes(item.status)
      ? undefined
      : { job_id: item.id, found: true, status: item.status, raw_status: item.status, created_at: new Date(item.t).toISOString() };
}

/** A newer item (created after everything in `items`), `k` seconds after T0. */
const newer = (k: number): Item => ({ id: `new-${k}`, t: T0 + k * 1000, status: 'succeeded' });

/**
 * Pages through the way the gateway does (the position goes through JSON in the cursor); `between`
 * runs after each page that has a next one.
 */
async function walkAll(
  backend: ReturnType<typeof fakeBackend>,
  opts: { limit: number; maxPages: number; statuses?: JobStatus[] },
  between?: (page: number) => void,
): Promise<{ ids: string[]; pages: Array<{ ids: string[]; next: OffsetPosition | undefined }> }> {
  const pages: Array<{ ids: string[]; next: OffsetPosition | undefined }> = [];
  let position: OffsetPosition | undefined;
  do {
    const page = await walkOffsetPages({
      position,
      limit: opts.limit,
      maxPages: opts.maxPages,
      fetch: (o) => backend.fetch(o),
      toJob: toJob(opts.statuses),
    });
    expect(page.jobs.length).toBeLessThanOrEqual(opts.limit);
    pages.push({ ids: page.jobs.map((j) => j.job_id), next: page.next });
    position = positionOf(offsetPositionSchema, page.next === undefined ? undefined : JSON.parse(JSON.stringify(page.next)));
    if (position) between?.(pages.length);
    if (pages.length > 100) throw new Error('the listing never ends');
  } while (position);
  return { ids: pages.flatMap((p) => p.ids), pages };
}

describe('walkOffsetPages', () => {
  it('gives every item once, newest first, and ends with no next position', async () => {
    const all = items(10);
    const b = fakeBackend(all, 3);
    const { ids, pages } = await walkAll(b, { limit: 3, maxPages: 2 });
    expect(ids).toEqual(all.map((i) => i.id));
    expect(pages.map((p) => p.ids.length)).toEqual([3, 3, 3, 1]);
    expect(pages.at(-1)!.next).toBeUndefined();
  });

  it('ends on the page that takes the last item, without an empty page after it', async () => {
    const all = items(9);
    const { ids, pages } = await walkAll(fakeBackend(all, 3), { limit: 3, maxPages: 2 });
    expect(ids).toEqual(all.map((i) => i.id));
    expect(pages).toHaveLength(3);
    expect(pages[2]!.next).toBeUndefined();
  });

  it('gives an empty list no jobs and no next position', async () => {
    const page = await walkOffsetPages({
      position: undefined,
      limit: 5,
      maxPages: 2,
      fetch: (o) => fakeBackend([], 5).fetch(o),
      toJob: toJob(),
    });
    expect(page).toEqual({ jobs: [], next: undefined });
  });

  it('stops when a backend page is empty though the backend claims more (no endless reads)', async () => {
    let reads = 0;
    const page = await walkOffsetPages<Item>({
      position: { offset: 4 },
      limit: 5,
      maxPages: 3,
      fetch: async () => {
        reads++;
        return { items: [], hasMore: true };
      },
      toJob: toJob(),
    });
    expect(page).toEqual({ jobs: [], next: undefined });
    expect(reads).toBe(1);
  });

  it('neither repeats nor skips an item when newer ones arrive between pages', async () => {
    const all = items(12);
    const b = fakeBackend(all, 4);
    // One new item after page 1, three after page 2 (more than fit before the old boundary), one after page 3.
    const arrivals: Record<number, Item[]> = { 1: [newer(1)], 2: [newer(4), newer(3), newer(2)], 3: [newer(5)] };
    const { ids } = await walkAll(b, { limit: 4, maxPages: 2 }, (n) => b.addNewest(...(arrivals[n] ?? [])));
    // Jobs created after the first page are not part of this listing; every older one is, once.
    expect(ids).toEqual(all.map((i) => i.id));
  });

  it('neither repeats nor skips an item when more newer ones arrive than one backend page holds', async () => {
    const all = items(10);
    const b = fakeBackend(all, 3);
    const { ids } = await walkAll(b, { limit: 3, maxPages: 2 }, (n) => {
      if (n === 1) b.addNewest(...[7, 6, 5, 4, 3, 2, 1].map(newer));
    });
    expect(ids).toEqual(all.map((i) => i.id));
  });

  it('does not repeat an item when newer ones arrive between two backend reads of one call', async () => {
    // Filtered here: item-2 is the only match of the first backend page, item-3 the next one.
    const all = items(8, (i) => (i === 2 || i === 3 || i === 6 ? 'failed' : 'succeeded'));
    const b = fakeBackend(all, 3);
    let reads = 0;
    const page = await walkOffsetPages({
      position: undefined,
      limit: 3,
      maxPages: 3,
      fetch: async (offset) => {
        // A job created right after the first read pushes item-2 into the second read's window.
        if (reads++ === 1) b.addNewest(newer(1));
        return b.fetch(offset);
      },
      toJob: toJob(['failed']),
    });
    expect(page.jobs.map((j) => j.job_id)).toEqual(['item-2', 'item-3', 'item-6']);
  });

  it('still lists an item whose time equals the last listed one but was not listed', async () => {
    const all: Item[] = [
      { id: 'a', t: T0, status: 'succeeded' },
      { id: 'b', t: T0 - 1000, status: 'succeeded' },
      { id: 'c', t: T0 - 1000, status: 'succeeded' },
      { id: 'd', t: T0 - 2000, status: 'succeeded' },
    ];
    const b = fakeBackend(all, 2);
    const { ids } = await walkAll(b, { limit: 2, maxPages: 2 }, () => b.addNewest(newer(1)));
    expect(ids).toEqual(['a', 'b', 'c', 'd']);
  });

  // When two or more newer jobs arrive, the re-read window holds other jobs listed already; one with the
  // same time as the last listed job (second-resolution timestamps, batch submissions) is not listed again.
  it("does not repeat jobs that share the last listed job's time when two newer ones arrive", async () => {
    const all: Item[] = [
      { id: 'a', t: T0, status: 'succeeded' },
      { id: 'b', t: T0, status: 'succeeded' },
      { id: 'c', t: T0, status: 'succeeded' },
      { id: 'd', t: T0 - 1000, status: 'succeeded' },
    ];
    const b = fakeBackend(all, 2);
    const { ids } = await walkAll(b, { limit: 2, maxPages: 2 }, (n) => {
      if (n === 1) b.addNewest(newer(2), newer(1));
    });
    expect(ids).toEqual(['a', 'b', 'c', 'd']);
  });

  it('remembers jobs of one time listed on earlier pages too, when several newer ones arrive after each page', async () => {
    const burst: Item[] = Array.from({ length: 7 }, (_, i) => ({ id: `burst-${i}`, t: T0, status: 'succeeded' }));
    const all = [...burst, ...items(3, undefined, 'older').map((i) => ({ ...i, t: i.t - 1000 }))];
    const b = fakeBackend(all, 2);
    let k = 0;
    const { ids } = await walkAll(b, { limit: 2, maxPages: 2 }, () => {
      k += 3;
      b.addNewest(newer(k), newer(k - 1), newer(k - 2));
    });
    expect(ids).toEqual(all.map((i) => i.id));
  });

  it('filters locally across several backend pages, reading at most maxPages per call, and says where to go on', async () => {
    // Matches at 1, 8, 9 and 11 of 12; three items a backend page.
    const failedAt = new Set([1, 8, 9, 11]);
    const all = items(12, (i) => (failedAt.has(i) ? 'failed' : 'succeeded'));
    const b = fakeBackend(all, 3);
    const walk = (position: OffsetPosition | undefined) =>
      walkOffsetPages({ position, limit: 2, maxPages: 2, fetch: (o) => b.fetch(o), toJob: toJob(['failed']) });

    const p1 = await walk(undefined);
    expect(p1.jobs.map((j) => j.job_id)).toEqual(['item-1']);
    expect(b.reads).toEqual([0, 3]); // two backend pages, then the call gives what it has
    expect(p1.next).toMatchObject({ offset: 6 });

    b.reads.length = 0;
    const p2 = await walk(p1.next);
    expect(p2.jobs.map((j) => j.job_id)).toEqual(['item-8', 'item-9']);
    expect(b.reads).toEqual([6, 9]);
    expect(p2.next).toMatchObject({ offset: 10 }); // right after item-9, mid backend page

    b.reads.length = 0;
    const p3 = await walk(p2.next);
    expect(p3.jobs.map((j) => j.job_id)).toEqual(['item-11']);
    expect(b.reads).toEqual([10]);
    expect(p3.next).toBeUndefined();
  });

  it('gives an empty page with a next position when maxPages backend pages held no match', async () => {
    const all = items(10, (i) => (i === 8 ? 'failed' : 'succeeded'));
    const b = fakeBackend(all, 3);
    const p1 = await walkOffsetPages({ position: undefined, limit: 5, maxPages: 2, fetch: (o) => b.fetch(o), toJob: toJob(['failed']) });
    expect(p1.jobs).toEqual([]);
    expect(p1.next).toEqual({ offset: 6 });
    const p2 = await walkOffsetPages({ position: p1.next, limit: 5, maxPages: 2, fetch: (o) => b.fetch(o), toJob: toJob(['failed']) });
    expect(p2.jobs.map((j) => j.job_id)).toEqual(['item-8']);
    expect(p2.next).toBeUndefined();
  });

  it('lists filtered items once when newer ones arrive between pages', async () => {
    const all = items(20, (i) => (i % 3 === 0 ? 'failed' : 'succeeded'));
    const b = fakeBackend(all, 4);
    let k = 0;
    const { ids } = await walkAll(b, { limit: 2, maxPages: 2, statuses: ['failed'] }, () =>
      b.addNewest({ ...newer(++k), status: 'failed' }),
    );
    expect(ids).toEqual(all.filter((i) => i.status === 'failed').map((i) => i.id));
  });
});

describe('listedBefore', () => {
  const job = (id: string, t: number | undefined): ListedJob => ({
    job_id: id,
    found: true,
    status: 'succeeded',
    raw_status: 'done',
    ...(t === undefined ? {} : { created_at: new Date(t).toISOString() }),
  });

  it('is true for a job newer than the last listed one, and for that job itself', () => {
    const last = { t: T0, ids: ['w', 'x'] };
    expect(listedBefore(job('y', T0 + 1), last)).toBe(true);
    expect(listedBefore(job('x', T0), last)).toBe(true);
    expect(listedBefore(job('w', T0), last)).toBe(true);
  });

  it('is false for an older job, another job of the same time, a job without a time, or without a last job', () => {
    const last = { t: T0, ids: ['x'] };
    expect(listedBefore(job('y', T0 - 1), last)).toBe(false);
    expect(listedBefore(job('y', T0), last)).toBe(false);
    expect(listedBefore(job('y', undefined), last)).toBe(false);
    expect(listedBefore(job('y', T0 + 1), undefined)).toBe(false);
  });

  it('falls back to the start time, then the completion time', () => {
    const last = { t: T0, ids: ['x'] };
    expect(
      listedBefore({ job_id: 'y', found: true, status: 'running', raw_status: 'r', started_at: new Date(T0 + 5).toISOString() }, last),
    ).toBe(true);
    expect(
      listedBefore({ job_id: 'y', found: true, status: 'failed', raw_status: 'f', completed_at: new Date(T0 - 5).toISOString() }, last),
    ).toBe(false);
  });
});

describe('positionOf', () => {
  it('passes undefined through (the first page) and gives back a well-formed position', () => {
    expect(positionOf(offsetPositionSchema, undefined)).toBeUndefined();
    expect(positionOf(offsetPositionSchema, { offset: 0 })).toEqual({ offset: 0 });
    expect(positionOf(offsetPositionSchema, { offset: 40, last: { t: T0, ids: ['job-1', 'job-2'] } })).toEqual({
      offset: 40,
      last: { t: T0, ids: ['job-1', 'job-2'] },
    });
  });

  it.each([
    ['a string', 'offset=3'],
    ['null', null],
    ['an array', [3]],
    ['no offset', {}],
    ['a negative offset', { offset: -1 }],
    ['a fractional offset', { offset: 1.5 }],
    ['an offset as a string', { offset: '3' }],
    ['a huge offset', { offset: 1e12 }],
    ['an unknown key', { offset: 3, page: 2 }],
    ['a last time without ids', { offset: 3, last: { t: 1 } }],
    ['last ids without a time', { offset: 3, last: { ids: ['x'] } }],
    ['a last job with an extra key', { offset: 3, last: { ids: ['x'], t: 1, status: 'queued' } }],
    ['an overlong job id', { offset: 3, last: { ids: ['x'.repeat(257)], t: 1 } }],
    ['more tied ids than the gateway keeps', { offset: 3, last: { ids: Array.from({ length: 101 }, (_, i) => `j${i}`), t: 1 } }],
  ])('rejects %s with INVALID_ARGUMENT', (_what, position) => {
    let error: unknown;
    try {
      positionOf(offsetPositionSchema, position);
    } catch (e) {
      error = e;
    }
    expect(isBackendError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/list again without a cursor/);
  });

  it('checks with the schema it is given', () => {
    const schema = z.strictObject({ cursor: z.string() });
    expect(positionOf(schema, { cursor: 'abc' })).toEqual({ cursor: 'abc' });
    expect(() => positionOf(schema, { offset: 0 })).toThrow(/cursor/);
  });
});

describe('singleRawFilter', () => {
  const words: Partial<Record<JobStatus, readonly string[]>> = {
    queued: ['pending', 'scheduled'],
    running: ['running'],
    succeeded: ['done'],
    failed: ['failed'],
  };

  it('is the backend word of one unified status that has exactly one', () => {
    expect(singleRawFilter(new Set<JobStatus>(['running']), words)).toBe('running');
    expect(singleRawFilter(new Set<JobStatus>(['succeeded']), words)).toBe('done');
  });

  it('is undefined (filter locally) with no filter, several statuses, a status of several words, or one without a word', () => {
    expect(singleRawFilter(undefined, words)).toBeUndefined();
    expect(singleRawFilter(new Set<JobStatus>(['running', 'failed']), words)).toBeUndefined();
    expect(singleRawFilter(new Set<JobStatus>(['queued']), words)).toBeUndefined();
    expect(singleRawFilter(new Set<JobStatus>(['cancelled']), words)).toBeUndefined();
    expect(singleRawFilter(new Set<JobStatus>(['unknown']), { ...words, unknown: [] })).toBeUndefined();
  });
});
