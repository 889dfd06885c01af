// list_jobs, independent of MCP: resolve the project, read the cursor, ask the adapter for one page,
// and shape the jobs in the unified vocabulary with the cursor of the next page.
import { LIST_LIMIT_DEFAULT, type ListedJob } from './listing.ts';
import { isTerminal, type JobStatus, type JobStatusReport } from './model.ts';
import {
  boundedRaw,
  errorReply,
  fail,
  resolveProject,
  toolErrorOf,
  type JobRef,
  type JobServiceHooks,
  type Reply,
  type ServiceCallContext,
  type ToolError,
} from './replies.ts';
import type { ProjectRegistry } from './registry.ts';

export interface ListArgs {
  project_reference: string;
  /** The unified statuses to list; absent or empty: every job. */
  status?: readonly JobStatus[] | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** One listed job: the unified fields (no `found`: a listed job exists), its id and `terminal`. */
export type ListedJobResult = Omit<JobStatusReport, 'found'> & { job_id: string; terminal: boolean };

export interface ListJobsResult {
  project_reference: string;
  backend: JobRef['backend'];
  jobs: ListedJobResult[];
  /** Pass it as `cursor` for the next page; null when the listing is complete. */
  next_cursor: string | null;
  /** Hosts of the project that could not be listed this time (ComfyUI); their jobs are missing from this page. */
  unavailable_hosts?: Array<{ host: string; error: ToolError }>;
}

/** The cursor as the caller holds it: which backend and filter it belongs to, and the adapter's position. */
interface Cursor {
  v: 1;
  backend: string;
  filter: string;
  position: unknown;
}

export function createListJobs(registry: ProjectRegistry, hooks: JobServiceHooks) {
  return async function listJobs(args: ListArgs, options: ServiceCallContext): Promise<Reply<ListJobsResult>> {
    const found = resolveProject(registry, args.project_reference, options.caller);
    if ('error' in found) return found.error;
    const backend = found.project.backend;
    const where = { project_reference: found.project.reference, backend: { name: backend.name, kind: backend.kind } };
    const statuses = args.status?.length ? new Set(args.status) : undefined;
    const filter = statuses ? [...statuses].sort().join(',') : '';
    let position: unknown;
    if (args.cursor !== undefined) {
      const cursor = decodeCursor(args.cursor);
      if (!cursor || cursor.backend !== backend.name || cursor.filter !== filter) {
        return fail(
          'INVALID_ARGUMENT',
          'The cursor belongs to another listing (another project or status filter) or is damaged; list again without a cursor.',
          where,
        );
      }
      position = cursor.position;
    }
    try {
      const page = await backend.list({
        statuses,
        limit: args.limit ?? LIST_LIMIT_DEFAULT,
        position,
        signal: options.signal,
        charge: options.charge,
      });
      const result: ListJobsResult = {
        ...where,
        jobs: page.jobs.map(listed),
        next_cursor: page.next === undefined ? null : encodeCursor({ v: 1, backend: backend.name, filter, position: page.next }),
      };
      if (page.unavailable?.length) {
        result.unavailable_hosts = page.unavailable.map((u) => ({
          host: u.host,
          error: toolErrorOf(hooks, u.error, where, 'list_jobs', options.requestId, u.host),
        }));
      }
      return { ok: true, value: result };
    } catch (e) {
      return errorReply(hooks, e, where, 'list_jobs', options);
    }
  };
}

function listed(job: ListedJob): ListedJobResult {
  const { found: _found, job_id, ...report } = job;
  return { job_id, ...report, raw_status: boundedRaw(report.raw_status), terminal: isTerminal(report.status) };
}

// The cursor is opaque to callers, not secret: it holds offsets or the backend's own cursor for a
// project the caller may list anyway. It is checked against the listing it is used with, and the
// adapter checks its position's shape.
function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(text: string): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor> | null;
    if (c === null || typeof c !== 'object' || c.v !== 1 || typeof c.backend !== 'string' || typeof c.filter !== 'string') return undefined;
    return c as Cursor;
  } catch {
    return undefined;
  }
}
