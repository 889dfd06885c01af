// End to end through the official MCP Python SDK client (PyPI `mcp`, pinned in scripts/tools/install.ts),
// in both protocol eras: `modern` pins revision 2026-07-28 (server/discover, the per-request `_meta`
// envelope, no initialize), `legacy` pins the 2025 initialize handshake. The client is
// test/e2e/python/mcp_client.py; it prints one JSON report, asserted on here.
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ensurePythonMcp, REPO_ROOT } from '../../scripts/tools/install.ts';
import { expectMatchesOutputSchema, isJobToolName } from '../helpers/result-schemas.ts';

const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'python', 'mcp_client.py');

type Mode = 'modern' | 'legacy';
type Step = { ok: true; result: unknown } | { ok: false; error: { type: string; message: string; code?: number } };
interface Report {
  mode: Mode;
  protocol_version: string | null;
  connect_error?: { type: string; message: string };
  steps: Partial<Record<'discover' | 'list_tools' | 'get_job_status' | 'cancel_job', Step>>;
  http: { http_method: string; rpc_method: string | null; tool: string | null; status: number; www_authenticate: string | null }[];
}

let python: string;
beforeAll(async () => {
  python = await ensurePythonMcp(); // cold: python3 -m venv + pip install, ~15 s here
}, 300_000);

async function runClient(url: string, token: string, mode: Mode, statusId: string, cancelId: string): Promise<Report> {
  const { stdout } = await promisify(execFile)(python, [SCRIPT, url, token, mode, 'agents', statusId, cancelId], { timeout: 120_000 });
  return JSON.parse(stdout) as Report;
}

/** A step's result, or a failure that quotes what the Python client saw. */
function resultOf(r: Report, step: keyof Report['steps']): any {
  const s = r.steps[step];
  if (!s?.ok) throw new Error(`${step} failed in ${r.mode} mode: ${JSON.stringify(s?.error ?? r.connect_error)}`);
  return isJobToolName(step) ? expectMatchesOutputSchema(step, s.result) : s.result;
}

describe.each([
  { mode: 'legacy' as const, version: '2025-11-25' },
  { mode: 'modern' as const, version: '2026-07-28' },
])('the MCP Python SDK client in $mode mode', ({ mode, version }) => {
  let t: TestGateway;
  let full: Report; // token with jobs:read and jobs:cancel
  let readOnly: Report; // token with jobs:read only
  let running: string;
  let queued: string[];

  beforeAll(async () => {
    t = await startTestGateway();
    running = seed(t, 'agents', 'running');
    queued = [seed(t, 'agents', 'queued', 0), seed(t, 'agents', 'queued', 1)];
    full = await runClient(t.mcpUrl, t.token!, mode, running, queued[0]!);
    readOnly = await runClient(t.mcpUrl, await t.mint({ scopes: ['jobs:read'] }), mode, running, queued[1]!);
  }, 300_000);
  afterAll(async () => t?.close());

  it(`negotiates protocol ${version}`, () => {
    if (mode === 'modern') expect(resultOf(full, 'discover').supportedVersions).toContain(version);
    expect(full.connect_error).toBeUndefined();
    expect(full.protocol_version).toBe(version);
    // Pinned: never the other era's handshake.
    const methods = full.http.map((h) => h.rpc_method);
    expect(methods).not.toContain(mode === 'modern' ? 'initialize' : 'server/discover');
  });

  it('lists both tools', () => {
    expect(resultOf(full, 'list_tools')).toEqual(expect.arrayContaining(['get_job_status', 'cancel_job']));
  });

  it('reads a running job as running', () => {
    const r = resultOf(full, 'get_job_status');
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ found: true, status: 'running', terminal: false });
  });

  it('cancels a queued job, and the backend confirms it', () => {
    const r = resultOf(full, 'cancel_job');
    expect(r.isError).toBeFalsy();
    // agent-jobs sets CANCELED at once, so the outcome is cancelled (not cancel_requested).
    expect(r.structuredContent).toMatchObject({ outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled' });
  });

  it('refuses a read-only token the cancel with a 403 step-up challenge, and leaves the job alone', async () => {
    expect(resultOf(readOnly, 'get_job_status').structuredContent).toMatchObject({ found: true, status: 'running' });
    const cancel = readOnly.steps.cancel_job;
    // The SDK raises MCPError with the JSON-RPC error of the 403's body; the status itself is only
    // visible on the HTTP exchange.
    expect(cancel).toMatchObject({ ok: false, error: { type: 'MCPError', message: expect.stringMatching(/forbidden/i) } });
    const refused = readOnly.http.find((h) => h.rpc_method === 'tools/call' && h.tool === 'cancel_job');
    expect(refused?.status).toBe(403);
    expect(refused?.www_authenticate).toMatch(/^Bearer /);
    expect(refused?.www_authenticate).toContain('error="insufficient_scope"');
    expect(refused?.www_authenticate).toContain('scope="jobs:read jobs:cancel"');
    const client = await t.client();
    const after = await t.call(client, 'get_job_status', { project_reference: 'agents', job_id: queued[1] });
    expect(after.structuredContent).toMatchObject({ status: 'queued' });
  });
});

// What each mode puts on the wire, independent of the gateway: a recorder answers every request
// with a JSON-RPC error and keeps what it got.
describe('the Python client script pins each era on the wire', () => {
  const recorded: { headers: IncomingHttpHeaders; body: any }[] = [];
  const recorder = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const body = data ? JSON.parse(data) : undefined;
      recorded.push({ headers: req.headers, body });
      if (body?.id === undefined) return void res.writeHead(202).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: body.id, error: { code: -32601, message: 'recorder' } }));
    });
  });
  let url: string;
  beforeAll(async () => {
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/mcp`;
  });
  afterAll(() => new Promise<void>((r) => recorder.close(() => r())));

  it('modern: server/discover then requests in the 2026-07-28 envelope, never initialize', async () => {
    recorded.length = 0;
    await runClient(url, 'tok', 'modern', 'job-1', 'job-2');
    expect(recorded.map((r) => r.body?.method)).toEqual(['server/discover', 'tools/list', 'tools/call', 'tools/call']);
    for (const { headers, body } of recorded) {
      expect(headers.authorization).toBe('Bearer tok');
      expect(headers['mcp-protocol-version']).toBe('2026-07-28');
      expect(headers['mcp-method']).toBe(body.method);
      expect(body.params._meta).toMatchObject({
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'python-sdk-e2e' },
      });
    }
    expect(recorded.filter((r) => r.body.method === 'tools/call').map((r) => r.headers['mcp-name'])).toEqual([
      'get_job_status',
      'cancel_job',
    ]);
  });

  it('legacy: the initialize handshake at 2025-11-25, never server/discover', async () => {
    recorded.length = 0;
    const report = await runClient(url, 'tok', 'legacy', 'job-1', 'job-2');
    expect(report.connect_error).toMatchObject({ type: 'MCPError', message: 'recorder' });
    expect(recorded.map((r) => r.body?.method)).toEqual(['initialize']);
    expect(recorded[0]!.body.params.protocolVersion).toBe('2025-11-25');
  });
});
