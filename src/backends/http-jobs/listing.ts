// list_jobs over a job API described by a profile: its list request, where the jobs are in the
// answer, and how it pages (profile.ts, list). Offset and page-number paging walk with the shared
// offset walk (jobs/listing.ts), which recognises jobs pushed down by newer ones; the styles that
// point at the next page (a cursor, a URL, a Link header) keep the page and the last job given.
import * as z from 'zod';
import { BackendError } from '../../jobs/backend-error.ts';
import {
  badPosition,
  keeps,
  offsetPositionSchema,
  positionOf,
  singleRawFilter,
  walkOffsetPages,
  type ListedJob,
  type ListPage,
  type ListQuery,
} from '../../jobs/listing.ts';
import { parseJson, unexpectedShape, unexpectedStatus, type HttpRequest, type HttpResponse } from '../http/http-client.ts';
import type { RecordReader } from './answers.ts';
import type { Profile } from './profile.ts';

/** API pages one unfiltered listing call reads at most: a page may hold only jobs listed already (newer ones pushed them down). */
const UNFILTERED_PAGES = 2;

export interface ListContext {
  name: string;
  list: Profile['list'];
  reader: RecordReader;
  baseUrl: string;
  /** Sent on every call, next-page URLs included. */
  fixedQuery: Readonly<Record<string, string>>;
  /** The list request as the profile writes it. */
  firstRequest(signal: AbortSignal): HttpRequest;
  call(req: HttpRequest): Promise<HttpResponse>;
}

type ListSpec = NonNullable<Profile['list']>;

export async function listJobs(q: ListQuery, ctx: ListContext): Promise<ListPage> {
  const spec = ctx.list;
  if (!spec) {
    throw new BackendError(
      'INVALID_ARGUMENT',
      `Backend "${ctx.name}" cannot list its jobs: its job API has no list route. Read a job by its id with get_job_status.`,
    );
  }
  // The API filters when one of its words selects exactly the statuses asked for; else the pages are filtered here.
  const word = spec.status_filter ? singleRawFilter(q.statuses, spec.status_filter.words) : undefined;
  const filteredHere = q.statuses !== undefined && word === undefined;
  const first = ctx.firstRequest(q.signal);
  const request: HttpRequest = word !== undefined ? { ...first, query: { ...first.query, [spec.status_filter!.param]: word } } : first;
  const maxPages = filteredHere ? spec.max_pages : UNFILTERED_PAGES;
  // Jobs asked of the API a page: as many as it serves when the gateway filters, else what the caller wants.
  const pageSize = (maxLimit: number): number => (filteredHere ? maxLimit : Math.min(q.limit, maxLimit));
  const paging = spec.paging;
  if (paging.style === 'offset' || paging.style === 'page') {
    const size = paging.style === 'page' ? paging.per_page : pageSize(paging.max_limit);
    return walkOffsetPages({
      position: positionOf(offsetPositionSchema, q.position),
      limit: q.limit,
      maxPages,
      fetch: async (offset) => {
        if (paging.style === 'offset') {
          const { body, items } = await readItems(ctx, spec, {
            ...request,
            query: { ...request.query, [paging.offset_param]: offset, [paging.limit_param]: size },
          });
          return { items, hasMore: more(ctx, body, paging.total, offset + items.length, items.length === size) };
        }
        const page = Math.floor(offset / size);
        const { body, items } = await readItems(ctx, spec, {
          ...request,
          query: { ...request.query, [paging.page_param]: page + paging.first_page, [paging.per_page_param]: size },
        });
        return { items: items.slice(offset % size), hasMore: more(ctx, body, paging.total, (page + 1) * size, items.length === size) };
      },
      toJob: (job) => (keeps(q.statuses, job) ? job : undefined),
    });
  }
  return walkPointedPages(q, ctx, spec, request, maxPages, pageSize);
}

/** Whether there are jobs after `seen` of them: the answer's total says, else a full page does. */
function more(ctx: ListContext, body: unknown, total: string | undefined, seen: number, fullPage: boolean): boolean {
  const t = ctx.reader.answers.at(body, total);
  return typeof t === 'number' && Number.isFinite(t) ? seen < t : fullPage;
}

/** One API page's answer and its jobs. */
async function readItems(
  ctx: ListContext,
  spec: ListSpec,
  req: HttpRequest,
): Promise<{ body: unknown; res: HttpResponse; items: ListedJob[] }> {
  const res = await ctx.call(req);
  if (res.status < 200 || res.status > 299) throw unexpectedStatus(ctx.name, res);
  const body = parseJson(ctx.name, res);
  const raw = ctx.reader.answers.at(body, spec.items);
  if (!Array.isArray(raw)) throw unexpectedShape(ctx.name, res, 'a list of jobs');
  return { body, res, items: raw.map((item) => ctx.reader.listed(item, res)) };
}

/** An API page: the first, or where the previous one said the next is. */
const locatorSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('first') }),
  z.strictObject({ kind: z.literal('cursor'), cursor: z.string().max(4096) }),
  z.strictObject({ kind: z.literal('url'), url: z.string().max(4096) }),
]);
type Locator = z.infer<typeof locatorSchema>;
/** Where a listing stands: the page, the last job given from it and how many of its jobs were read. */
const positionSchema = z.strictObject({
  page: locatorSchema,
  after: z.string().max(256).optional(),
  skip: z.number().int().min(0).max(10_000),
});
type Position = z.infer<typeof positionSchema>;

/**
 * The styles whose answer points at the next page. An API page may hold more jobs than the caller
 * asked for (Replicate's are 100): the position keeps the page and the last job given, and the next
 * call goes on after that job, wherever jobs created meanwhile have moved it.
 */
async function walkPointedPages(
  q: ListQuery,
  ctx: ListContext,
  spec: ListSpec,
  request: HttpRequest,
  maxPages: number,
  pageSize: (maxLimit: number) => number,
): Promise<ListPage> {
  const paging = spec.paging;
  const base = new URL(ctx.baseUrl.endsWith('/') ? ctx.baseUrl : `${ctx.baseUrl}/`);
  let at: Position = positionOf(positionSchema, q.position) ?? { page: { kind: 'first' }, skip: 0 };
  const jobs: ListedJob[] = [];
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await readPage(at.page);
    const found = at.after === undefined ? -1 : page.items.findIndex((item) => item.job_id === at.after);
    const start = found >= 0 ? found + 1 : at.skip;
    for (let i = start; i < page.items.length; i++) {
      const job = page.items[i]!;
      if (keeps(q.statuses, job)) jobs.push(job);
      if (jobs.length < q.limit) continue;
      if (i + 1 < page.items.length) return { jobs, next: { page: at.page, after: job.job_id, skip: i + 1 } };
      return { jobs, next: page.next ? { page: page.next, skip: 0 } : undefined };
    }
    if (!page.next) return { jobs, next: undefined };
    at = { page: page.next, skip: 0 };
  }
  return { jobs, next: at };

  async function readPage(page: Locator): Promise<{ items: ListedJob[]; next: Locator | undefined }> {
    let req = request;
    if (paging.style === 'cursor') {
      const size = pageSize(paging.max_limit);
      req = {
        ...req,
        query: {
          ...req.query,
          ...(paging.limit_param !== undefined ? { [paging.limit_param]: size } : {}),
          ...(page.kind === 'cursor' ? { [paging.cursor_param]: page.cursor } : {}),
        },
      };
      if (page.kind === 'url') throw badPosition();
    } else if (page.kind === 'url' && (paging.style === 'next_url' || paging.style === 'link_header')) {
      req = { ...req, ...belowBase(page.url) };
    } else if (page.kind !== 'first') throw badPosition();
    const { body, res, items } = await readItems(ctx, spec, req);
    return { items, next: nextPage(body, res) };
  }

  /** Where the page after this one is; undefined on the last page. */
  function nextPage(body: unknown, res: HttpResponse): Locator | undefined {
    switch (paging.style) {
      case 'cursor': {
        const next = ctx.reader.answers.at(body, paging.next);
        if (next === undefined || next === null || next === '') return undefined;
        // A next page the gateway cannot read is not taken for the last one.
        if (typeof next !== 'string') throw unexpectedShape(ctx.name, res, 'a list whose next page is a cursor');
        // Some APIs give the next page as a URL: its cursor parameter is the cursor.
        if (/^https?:\/\//i.test(next)) {
          const cursor = URL.canParse(next) ? new URL(next).searchParams.get(paging.cursor_param) : null;
          return cursor ? { kind: 'cursor', cursor: cursor.slice(0, 4096) } : undefined;
        }
        return { kind: 'cursor', cursor: next.slice(0, 4096) };
      }
      case 'next_url': {
        const next = ctx.reader.answers.at(body, paging.next);
        if (next === undefined || next === null || next === '') return undefined;
        if (typeof next !== 'string') throw unexpectedShape(ctx.name, res, 'a list whose next page is a URL');
        belowBase(next); // a next page elsewhere is refused now, not when the caller comes back
        return { kind: 'url', url: next };
      }
      case 'link_header': {
        const link = res.headers.link;
        const next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(Array.isArray(link) ? link.join(',') : (link ?? ''))?.[1];
        if (next === undefined) return undefined;
        const url = new URL(next, base).href;
        belowBase(url);
        return { kind: 'url', url };
      }
      default:
        return undefined;
    }
  }

  /** A next page's URL as a request below base_url; a URL anywhere else is refused (backend URLs come only from config). */
  function belowBase(url: string): Pick<HttpRequest, 'path' | 'query'> {
    if (!URL.canParse(url)) throw new BackendError('BACKEND_UNAVAILABLE', `Backend "${ctx.name}" gave a next page that is not a URL.`);
    const u = new URL(url);
    if (u.origin !== base.origin || !u.pathname.startsWith(base.pathname)) {
      throw new BackendError(
        'BACKEND_UNAVAILABLE',
        `Backend "${ctx.name}" pointed its next page outside its base URL, so the gateway did not follow it.`,
      );
    }
    const path = u.pathname
      .slice(base.pathname.length)
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
    return { path, query: { ...ctx.fixedQuery, ...Object.fromEntries(u.searchParams) } };
  }
}
