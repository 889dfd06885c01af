// What operators read: one JSON log line per tool call with its context, an audit record for every
// cancel (in the log and in a file), and no credential anywhere in either.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('structured logs and the audit trail', () => {
  let t: TestGateway;
  let out = '';
  const auditFile = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
  const lines = () =>
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    const sink = new Writable({ write: (c, _e, cb) => ((out += c), cb()) });
    t = await startTestGateway({
      configure: (c) => ({ ...c, audit: { file: auditFile } }),
      deps: { logger: createLogger({ level: 'info', destination: sink }) },
    });
  });
  afterAll(async () => t?.close());

  it('logs each tool call with request id, subject, client, tool, project, backend, outcome and latency', async () => {
    const client = await t.client({ token: await t.mint({ subject: 'agent-42', clientId: 'fleet-a' }) });
    const id = t.sandbox.seedsByProject.get('agents')!.succeeded[0]!;
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: id } });
    const call = lines().find((l) => l.event === 'tool_call' && l.subject === 'agent-42')!;
    expect(call).toMatchObject({
      level: 'info',
      service: 'mcp-job-gateway',
      client_id: 'fleet-a',
      tool: 'get_job_status',
      project: 'agents',
      backend: 'agents',
      outcome: 'succeeded',
    });
    expect(call.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(call).not.toHaveProperty('session_id'); // no sessions
    expect(typeof call.latency_ms).toBe('number');
  });

  it("takes the caller's x-request-id, or the trace id of its traceparent", async () => {
    const token = t.token!;
    const post = (headers: Record<string, string>) =>
      fetch(t.mcpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
          ...headers,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
        }),
      });
    const a = await post({ 'x-request-id': 'req-abc.123' });
    expect(a.headers.get('x-request-id')).toBe('req-abc.123');
    const b = await post({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect(b.headers.get('x-request-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const c = await post({ 'x-request-id': 'bad id with spaces' });
    expect(c.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await Promise.all([a, b, c].map(async (r) => r.body?.cancel()));
  });

  it('audits every cancel, whatever its outcome, in the log and in the audit file', async () => {
    const client = await t.client({ token: await t.mint({ subject: 'ops-7', clientId: 'console' }) });
    const queued = t.sandbox.seedsByProject.get('agents')!.queued[0]!;
    await client.callTool({
      name: 'cancel_job',
      arguments: { project_reference: 'agents', job_id: queued, reason: 'duplicate submission' },
    });
    await client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: queued } });
    await client.callTool({ name: 'cancel_job', arguments: { project_reference: 'nowhere', job_id: queued } });
    const audits = lines().filter((l) => l.event === 'audit' && l.subject === 'ops-7');
    expect(audits.map((a) => a.outcome)).toEqual(['cancelled', 'already_terminal', 'UNKNOWN_PROJECT']);
    expect(audits[0]).toMatchObject({
      action: 'cancel_job',
      client_id: 'console',
      issuer: t.sandbox.issuer!.issuer,
      project: 'agents',
      backend: 'agents',
      backend_kind: 'agent_jobs',
      job_id: queued,
      reason: 'duplicate submission',
      status_before: 'queued',
      status_after: 'cancelled',
    });
    expect(Date.parse(String(audits[0]!.time))).not.toBeNaN();
    // One "time" per line: JSON.parse keeps the last of duplicate keys, so count them in the raw text.
    const rawAudits = out.split('\n').filter((l) => l.includes('"event":"audit"'));
    expect(rawAudits.length).toBeGreaterThanOrEqual(3);
    for (const l of rawAudits) expect(l.match(/"time":/g)).toHaveLength(1);
    await expect.poll(() => readFileSync(auditFile, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(3);
    const fromFile = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(fromFile.filter((a) => a.subject === 'ops-7').map((a) => a.outcome)).toEqual([
      'cancelled',
      'already_terminal',
      'UNKNOWN_PROJECT',
    ]);
    expect(Date.parse(String(fromFile[0]!.time))).not.toBeNaN();
  });

  it('writes no token, no backend credential and no Authorization header to the logs', async () => {
    const secrets = [t.token!, 'sandbox-agent-jobs-key', 'vf_sandbox_token', 'cfc_sandbox_token'];
    expect(out.length).toBeGreaterThan(0);
    for (const s of secrets) expect(out).not.toContain(s);
    expect(out.toLowerCase()).not.toContain('bearer ');
  });

  it('redacts credential-shaped fields even if code tried to log them', () => {
    let text = '';
    const logger = createLogger({ destination: new Writable({ write: (c, _e, cb) => ((text += c), cb()) }) });
    logger.info({ headers: { authorization: 'Bearer leak' }, token: 'leak', backend: { api_key: 'leak' } }, 'oops');
    expect(text).not.toContain('leak');
    expect(text).toContain('[redacted]');
  });
});
