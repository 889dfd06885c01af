// A fake AI Connect agent-jobs service for the benchmark: `GET {prefix}/services/agent-jobs/{id}`
// answers, for any id, a RUNNING job in the record shape src/backends/agent-jobs/simulation/server.ts
// renders (wrapped in `{data, meta}`), after checking the `Authorization: Bearer <key>` the adapter
// sends. By default the record is the same on every read, as a job's is while nothing happens to
// it; with `changing`, every answer differs (its activities_count counts the reads), so no answer is
// ever the one read before. For the waits benchmark (waits.ts), `PUT /control/status/COMPLETED` sets
// the status every later read answers, and `GET /control/reads` counts the job reads so far.
// Usage: node scripts/bench/fake-backend.ts PORT [changing]
import { createServer, type ServerResponse } from 'node:http';
import { BACKEND_KEY } from './shapes.ts';

const port = Number(process.argv[2]);
const changing = process.argv[3] === 'changing';
let reads = 0;
let jobReads = 0;
let jobStatus = 'RUNNING';
const ORG = 'aiconnect';
const ROUTE = /\/services\/agent-jobs\/([A-Za-z0-9_-]{1,128})$/;
const now = Date.now();
const iso = (agoMs: number): string => new Date(now - agoMs).toISOString();

function record(id: string): Record<string, unknown> {
  const started = iso(2 * 60_000);
  return {
    job_id: id,
    org_id: ORG,
    channel_code: 'C0123456',
    job_type_id: 'follow-up',
    job_status: jobStatus,
    result: null,
    created_at: iso(3 * 60_000),
    updated_at: started,
    scheduled_at: iso(3 * 60_000),
    last_task_created_at: started,
    tasks: [{ task_id: `${id}-t1`, created_at: started, status: 'running', result: null }],
    params: { customer: 'c-42' },
    config: { max_follow_ups: 3, max_task_retries: 2, task_retry_interval: 5, max_time_to_complete: 60 },
    flags: {},
    channel_data: {},
    chat_id: null,
    tags: [],
    execution_log: [],
    activities_count: changing ? ++reads : 1,
  };
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0] ?? '';
  const control = /^\/control\/(status\/([A-Z_]{1,32})|reads)$/.exec(path);
  if (control) {
    if (control[2] && req.method === 'PUT') jobStatus = control[2];
    return answer(res, 200, { status: jobStatus, reads: jobReads });
  }
  const m = ROUTE.exec(path);
  if (req.method !== 'GET' || !m) return answer(res, 404, { message: `Cannot ${req.method} ${path}` });
  if (req.headers.authorization !== `Bearer ${BACKEND_KEY}`)
    return answer(res, 401, { message: 'Unauthorized: invalid or missing API key' });
  const id = m[1]!;
  jobReads++;
  answer(res, 200, { data: record(id), meta: { org_id: ORG, id } });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
