// The list route of the project-runtime simulation (docs/backends.md, project runtime, listing jobs):
//   GET /projects/{p}/jobs?cursor=&limit=&status=&cron_job_id=&environment_id=&batch_id=
//     -> {data: [JobListItem], page_info: {self, first: null, next, prev}}
// Newest first (created_at desc, ties by id desc), paged by key: a cursor names the last job of the
// page before, so jobs created after the first page do not shift or repeat later pages.

/** One job of the project as the route sees it at request time. */
export interface ListRow {
  id: string;
  createdAt: number;
  status: string;
  /** The rendered Job. */
  record: Record<string, unknown>;
}

export type ListAnswer = { ok: true; json: unknown } | { ok: false; message: string };

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const FILTERS = ['cron_job_id', 'environment_id', 'batch_id'] as const;

interface Position {
  createdAt: number;
  id: string;
}

// The cursor format is not documented; clients must treat it as opaque. The simulation uses
// base64url of JSON `[created_at ms, id]` of the last job of the page before.
const encodeCursor = (p: Position): string => Buffer.from(JSON.stringify([p.createdAt, p.id])).toString('base64url');

function decodeCursor(cursor: string): Position | undefined {
  const bytes = Buffer.from(cursor, 'base64url');
  // Node's decoder skips characters it does not know; only a cursor that re-encodes to itself is one we made.
  if (bytes.toString('base64url') !== cursor) return undefined;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && v[1] !== '') {
      return { createdAt: v[0] as number, id: v[1] };
    }
  } catch {
    // not JSON: falls through to "not a cursor"
  }
  return undefined;
}

const newerFirst = (a: Position, b: Position): number => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * One page of `rows` (the project's jobs) for the request's query. `statuses` is the API's status
 * vocabulary. Bad parameters answer a message for a 400 `validation_error`.
 */
export function listPage(query: URLSearchParams, rows: readonly ListRow[], statuses: readonly string[]): ListAnswer {
  // Empty parameters (`?limit=`, `?status=`, `?cursor=`) are bad values, not omitted ones [INF: the
  // stricter choice; a client that sends `cursor=` for the first page hears about it].
  const limitRaw = query.get('limit');
  // `limit` bounds and default are not documented: 1..100, default 20, as the other simulated lists.
  const limit = limitRaw === null ? DEFAULT_LIMIT : /^[0-9]+$/.test(limitRaw) ? Number(limitRaw) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) return { ok: false, message: `limit must be an integer from 1 to ${MAX_LIMIT}` };

  // `status` takes one raw word [INF: no list syntax is documented]; anything else is rejected rather than ignored.
  const status = query.get('status');
  if (status !== null && !statuses.includes(status)) return { ok: false, message: `status must be one of: ${statuses.join(', ')}` };

  const cursor = query.get('cursor');
  const after = cursor === null ? undefined : decodeCursor(cursor);
  if (cursor !== null && after === undefined) return { ok: false, message: 'cursor is not a valid cursor' };

  // The id filters compare by equality [INF: whether a non-UUID value is a 400 is undocumented; it simply matches nothing].
  const filters = FILTERS.flatMap((name) => {
    const value = query.get(name);
    return value === null ? [] : [[name, value] as const];
  });
  const matching = rows
    .filter((r) => (status === null || r.status === status) && filters.every(([name, value]) => r.record[name] === value))
    .filter((r) => after === undefined || newerFirst(after, r) < 0) // strictly after the cursor's job
    .sort(newerFirst);
  const page = matching.slice(0, limit);
  const last = page[page.length - 1];
  return {
    ok: true,
    json: {
      data: page.map((r) => listItem(r.record)),
      page_info: {
        self: cursor,
        first: null,
        next: matching.length > limit && last ? encodeCursor(last) : null,
        // A previous page's cursor is not offered [INF: the API has the field; `null` is a valid answer, and
        // clients here only page forward].
        prev: null,
      },
    },
  };
}

// The exact JobListItem projection is not documented; the simulation keeps it smaller than a
// Job by leaving out the potentially large `config` and `result`, so a client cannot rely on them.
function listItem(record: Record<string, unknown>): Record<string, unknown> {
  const { config: _config, result: _result, ...item } = record;
  return item;
}
