// Runs one tool call against a single adapter the way the gateway does (job service, tool shaping,
// the backend-failure logger on a captured pino stream), so adapter tests can check what a caller is
// told and what the log keeps.
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { JobBackend } from '../../src/jobs/backend.ts';
import type { BackendKind } from '../../src/backends/registry.ts';
import { waitsSchema } from '../../src/config/schema.ts';
import { createJobService } from '../../src/jobs/job-service.ts';
import { createWaitHub, waitConfigOf } from '../../src/jobs/waits.ts';
import { createSystemClock } from '../../src/jobs/clock.ts';
import { createProjectRegistry } from '../../src/jobs/registry.ts';
import { callTool } from '../../src/mcp/tools/job-tools.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { backendFailureLogger } from '../../src/observability/tool-calls.ts';
import { expectMatchesOutputSchema } from './result-schemas.ts';

export interface ToolCallSeen {
  result: CallToolResult;
  error: { code: string; message: string; request_id?: string; retry_after_seconds?: number } | undefined;
  /** Everything the caller receives, as one string. */
  callerSees: string;
  /** The raw log output. */
  log: string;
  /** The parsed log lines. */
  lines: Record<string, unknown>[];
}

export async function callThroughService(
  backend: JobBackend,
  tool: 'get_job_status' | 'cancel_job',
  jobId: string,
  requestId = 'req-7f3a.42',
): Promise<ToolCallSeen> {
  let log = '';
  const sink = new Writable({ write: (c, _e, cb) => ((log += c), cb()) });
  const logger = createLogger({ level: 'info', destination: sink });
  // Not closed: the test that made the backend closes it.
  const waits = waitsSchema.parse({});
  const pollIntervalMs = waits.poll_interval_seconds[backend.kind as BackendKind] * 1000;
  const registry = createProjectRegistry([{ reference: backend.name, aliases: [], backend, pollIntervalMs }]);
  const service = createJobService(
    registry,
    { onBackendError: backendFailureLogger(logger) },
    { waits: createWaitHub(waitConfigOf(waits), createSystemClock()), now: () => Date.now() },
  );
  const result = expectMatchesOutputSchema(
    tool,
    await callTool(service, tool, { project_reference: backend.name, job_id: jobId }, { signal: new AbortController().signal, requestId }),
  );
  const body = result.structuredContent as { error?: ToolCallSeen['error'] };
  const lines =
    log.trim() === ''
      ? []
      : log
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { result, error: body.error, callerSees: JSON.stringify(result), log, lines };
}

export interface BackendFailureCase {
  what: string;
  status: number;
  body: string;
  code: string;
  /** What the caller's message must say after `Backend "<name>" `. */
  sentence: RegExp;
  /** Backend words that must not reach the caller. */
  neverToCaller: string[];
  /** What the log line's `detail` must keep. */
  inLogDetail: string[];
}

/** The security review's examples: a 401 echoing the gateway's key, a 500 with a traceback, an HTML 502. */
export function backendFailures(key: string): BackendFailureCase[] {
  const unavailable = (s: number) =>
    new RegExp(`^Backend "[^"]+" failed \\(HTTP ${s}\\)\\. The job's state is not known; try again later\\.`);
  return [
    {
      what: "a 401 that echoes the gateway's key",
      status: 401,
      body: `invalid credential: Bearer ${key}`,
      code: 'BACKEND_AUTH',
      sentence:
        /^Backend "[^"]+" rejected the gateway's credentials \(HTTP 401\): the gateway's own credentials for it are wrong or lack access\. Tell the gateway's operator; retrying will not help\./,
      neverToCaller: [key, 'invalid credential'],
      inLogDetail: ['invalid credential: [redacted]'],
    },
    {
      what: 'a 500 with a Python traceback',
      status: 500,
      body: [
        'Traceback (most recent call last):',
        '  File "/srv/app/api.py", line 88, in get_job',
        '    row = db.fetch(job_id)',
        'psycopg2.OperationalError: could not connect to db.internal:5432 user=svc password=hunter2',
      ].join('\n'),
      code: 'BACKEND_UNAVAILABLE',
      sentence: unavailable(500),
      neverToCaller: ['Traceback', 'api.py', 'psycopg2', 'db.internal', 'user=svc', 'hunter2'],
      inLogDetail: ['Traceback (most recent call last): File "/srv/app/api.py"', 'db.internal:5432 user=svc password=[redacted]'],
    },
    {
      what: 'an HTML 502 from a proxy',
      status: 502,
      body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx/1.25.3 (lb-7.internal)</center></body></html>',
      code: 'BACKEND_UNAVAILABLE',
      sentence: unavailable(502),
      neverToCaller: ['<', 'Bad Gateway', 'nginx', 'lb-7.internal'],
      inLogDetail: ['<title>502 Bad Gateway</title>', 'nginx/1.25.3 (lb-7.internal)'],
    },
  ];
}

/**
 * What a caller and the log must show for one of `backendFailures`: the fixed sentence naming the
 * backend (as `messageStart` says, else `Backend "<backend>" `), the request id, none of the backend's words; one warn line with the redacted words and
 * never the secret (nor the traceback's password).
 */
export function expectFailureSeen(
  seen: ToolCallSeen,
  f: BackendFailureCase,
  where: { tool: string; backend: string; kind: string; secret: string; messageStart?: RegExp },
): void {
  expect(seen.error).toMatchObject({ code: f.code, request_id: 'req-7f3a.42' });
  const message = seen.error!.message;
  expect(message).toMatch(where.messageStart ?? new RegExp(`^Backend "${where.backend}" `));
  // The sentence about the backend that failed (a ComfyUI project of several hosts names them first).
  expect(message.slice(message.indexOf('Backend "'))).toMatch(f.sentence);
  expect(seen.error!.message).toMatch(/ Request id: req-7f3a\.42\.$/);
  for (const word of f.neverToCaller) expect(seen.callerSees).not.toContain(word);
  const lines = seen.lines.filter((l) => l.event === 'backend_error');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    level: 'warn',
    request_id: 'req-7f3a.42',
    tool: where.tool,
    backend: where.backend,
    backend_kind: where.kind,
    code: f.code,
    http_status: f.status,
  });
  for (const word of f.inLogDetail) expect(lines[0]!.detail).toContain(word);
  expect(seen.log).not.toContain(where.secret);
  expect(seen.log).not.toContain('hunter2');
}
