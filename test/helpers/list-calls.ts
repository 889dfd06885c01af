// Small pieces shared by the adapter tests of `list`: a query, a walk over every page, and the checks
// a listing and its failures must pass.
import { expect } from 'vitest';
import { isBackendError, type BackendError } from '../../src/jobs/backend-error.ts';
import type { JobBackend } from '../../src/jobs/backend.ts';
import type { ListPage, ListQuery, ListedJob } from '../../src/jobs/listing.ts';
import type { JobStatus } from '../../src/jobs/model.ts';

/** A list query: every job, 20 a page, from the start, never aborted; `statuses` as an array for brevity. */
export function listQuery(over: Partial<Omit<ListQuery, 'statuses'>> & { statuses?: JobStatus[] } = {}): ListQuery {
  const { statuses, ...rest } = over;
  return {
    statuses: statuses ? new Set(statuses) : undefined,
    limit: 20,
    position: undefined,
    signal: new AbortController().signal,
    ...rest,
  };
}

/**
 * Pages through a whole listing the way a caller does: each `next` goes back as `position` after a JSON
 * round trip (the gateway carries it in an opaque cursor). `between` runs after each page but the last.
 */
export async function listAll(
  b: JobBackend,
  over: Parameters<typeof listQuery>[0] = {},
  between?: (page: ListPage, n: number) => void | Promise<void>,
): Promise<{ jobs: ListedJob[]; pages: ListPage[] }> {
  const pages: ListPage[] = [];
  let position: unknown;
  do {
    const page = await b.list(listQuery({ ...over, position }));
    pages.push(page);
    position = page.next === undefined ? undefined : JSON.parse(JSON.stringify(page.next));
    if (position !== undefined) await between?.(page, pages.length);
    if (pages.length > 200) throw new Error('the listing never ends');
  } while (position !== undefined);
  return { jobs: pages.flatMap((p) => p.jobs), pages };
}

/** Each job once, and no job newer than the one before it. */
export function expectEachOnceNewestFirst(jobs: readonly ListedJob[]): void {
  const ids = jobs.map((j) => j.job_id);
  expect(new Set(ids).size, `duplicates in ${ids.join(', ')}`).toBe(ids.length);
  const times = jobs.map((j) => Date.parse(j.created_at!));
  for (let i = 1; i < times.length; i++)
    expect(times[i], `job ${i} (${ids[i]}) is newer than the one before it`).toBeLessThanOrEqual(times[i - 1]!);
}

/** The BackendError a call fails with; fails the test when it does not fail with one. */
export async function backendErrorOf(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    if (isBackendError(e)) return e;
    throw new Error(`not a BackendError: ${String(e)}`, { cause: e });
  }
  throw new Error('the call did not fail');
}

/** A failure with `code` whose message holds none of the backend's own words. */
export async function expectFailure(p: Promise<unknown>, code: string, backendWords: readonly string[] = []): Promise<BackendError> {
  const e = await backendErrorOf(p);
  expect(e.code).toBe(code);
  for (const word of backendWords) expect(e.message).not.toContain(word);
  return e;
}
