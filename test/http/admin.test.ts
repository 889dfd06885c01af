// The admin listener: liveness, readiness (including signing keys and draining), the per-backend
// health view, and metrics that count what the gateway did.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('admin listener', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => t?.close());

  it('refuses a malformed Host header with 400 on every path, and serves any well-formed one', async () => {
    const { port } = new URL(t.adminUrl);
    for (const host of ['x@127.0.0.1', `x@127.0.0.1:${port}`, '127.0.0.1/metrics', '127.0.0.1:99999', '127.0.0.1:', '[::1', 'a b', '']) {
      for (const path of ['/metrics', '/healthz', '/readyz', '/backends', '/nothing']) {
        expect({ host, path, status: await rawGet(t.adminUrl, path, host) }).toEqual({ host, path, status: 400 });
      }
    }
    for (const host of [`127.0.0.1:${port}`, 'metrics.internal', `[::1]:${port}`]) {
      expect({ host, status: await rawGet(t.adminUrl, '/healthz', host) }).toEqual({ host, status: 200 });
    }
  });

  it('is not the MCP port', () => {
    expect(new URL(t.adminUrl).port).not.toBe(String(t.port));
  });

  it('answers /healthz and, once the signing keys are fetched, /readyz', async () => {
    expect((await fetch(`${t.adminUrl}/healthz`)).status).toBe(200);
    await expect.poll(async () => (await fetch(`${t.adminUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${t.adminUrl}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { listening: true, not_draining: true, signing_keys: true },
    });
  });

  it('counts tool calls per tool, backend and outcome, and backend requests per operation and status class', async () => {
    const client = await t.client();
    const seeds = t.sandbox.seedsByProject.get('site-x')!;
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'site-x', job_id: seeds.succeeded[0]! } });
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'site-x', job_id: seeds.succeeded[0]! } });
    await client.callTool({ name: 'cancel_job', arguments: { project_reference: 'site-x', job_id: seeds.failed[0]! } });
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'nope', job_id: 'x' } });
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(text).toContain(
      'mcp_job_gateway_tool_calls_total{tool="get_job_status",backend_kind="project_runtime",backend="site-x",outcome="succeeded"} 2',
    );
    expect(text).toContain(
      'mcp_job_gateway_tool_calls_total{tool="cancel_job",backend_kind="project_runtime",backend="site-x",outcome="already_terminal"} 1',
    );
    expect(text).toContain(
      'mcp_job_gateway_tool_calls_total{tool="get_job_status",backend_kind="none",backend="none",outcome="UNKNOWN_PROJECT"} 1',
    );
    expect(text).toMatch(
      /mcp_job_gateway_backend_requests_total\{backend_kind="project_runtime",backend="site-x",operation="get_job",status_class="2xx"\} \d+/,
    );
    expect(text).toMatch(
      /mcp_job_gateway_tool_call_duration_seconds_bucket\{le="\+Inf",tool="get_job_status",backend_kind="project_runtime",backend="site-x"\} 2/,
    );
    expect(text).toMatch(/mcp_job_gateway_http_requests_in_flight \d+/);
    expect(text).not.toContain('mcp_job_gateway_sessions_active'); // removed with MCP sessions
    expect(text).toContain('process_cpu_user_seconds_total');
    // No job id, subject or token in any label.
    for (const s of [seeds.succeeded[0]!, 'sandbox-user', t.token!]) expect(text).not.toContain(s);
  });

  it('counts authentication failures by reason', async () => {
    await fetch(t.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(text).toMatch(/mcp_job_gateway_auth_failures_total\{reason="missing"\} [1-9]/);
  });

  it('shows each backend as up or down from its last calls, without failing readiness for one dead backend', async () => {
    const agents = t.sandbox.simulations.find((s) => s.kind === 'agent_jobs')!;
    const client = await t.client();
    agents.server.setFault({ kind: 'status', status: 503 });
    try {
      await client.callTool({
        name: 'get_job_status',
        arguments: { project_reference: 'agents', job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]! },
      });
    } finally {
      agents.server.setFault(null);
    }
    const { backends } = (await (await fetch(`${t.adminUrl}/backends`)).json()) as { backends: { backend: string; state: string }[] };
    expect(backends.find((b) => b.backend === 'agents')?.state).toBe('down');
    expect(backends.find((b) => b.backend === 'site-x')?.state).toBe('up');
    expect((await fetch(`${t.adminUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${t.adminUrl}/metrics`)).text()).toContain(
      'mcp_job_gateway_backend_up{backend_kind="agent_jobs",backend="agents"} 0',
    );
  });
});

describe('readiness without signing keys', () => {
  it('is not ready while the issuer keys cannot be fetched', async () => {
    const t = await startTestGateway();
    try {
      // A gateway whose issuer points at a closed port never gets keys.
      const broken = await startTestGateway({
        configure: (c) =>
          c.auth.mode === 'oauth'
            ? { ...c, auth: { ...c.auth, issuers: [{ issuer: c.auth.issuers[0]!.issuer, jwks_uri: 'http://127.0.0.1:9/jwks.json' }] } }
            : c,
      });
      try {
        await new Promise((r) => setTimeout(r, 300));
        const r = await fetch(`${broken.adminUrl}/readyz`);
        expect(r.status).toBe(503);
        expect(((await r.json()) as { checks: Record<string, boolean> }).checks.signing_keys).toBe(false);
      } finally {
        await broken.close();
      }
    } finally {
      await t.close();
    }
  });
});

/** The status of one raw GET with this exact Host header (fetch will not send a hostile one). */
function rawGet(base: string, path: string, host: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      got += chunk;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`no status line for Host ${JSON.stringify(host)}`)));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}
