// The Streamable HTTP surface, spoken to with raw HTTP where the SDK client would hide the detail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

type RpcError = { error: { code: number; message: string } };

const ACCEPT = 'application/json, text/event-stream';
const init = (id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Opens a session with raw HTTP and returns its id. */
async function openSession(url: string): Promise<string> {
  const res = await post(url, init());
  expect(res.status).toBe(200);
  const id = res.headers.get('mcp-session-id');
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  await res.body?.cancel();
  const ack = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id!, 'mcp-protocol-version': '2025-11-25' });
  expect(ack.status).toBe(202);
  return id!;
}

describe('stateful Streamable HTTP endpoint', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ authOff: true, configure: (c) => ({ ...c, server: { ...c.server, session_idle_timeout_seconds: 60, max_body_bytes: 4096 } }) });
  });
  afterAll(async () => t?.close());

  it('answers other methods with 405 and an Allow header', async () => {
    const res = await fetch(t.mcpUrl, { method: 'PUT', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  it('refuses a foreign Origin with 403 and serves an allowed one with CORS headers', async () => {
    const evil = await post(t.mcpUrl, init(), { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as RpcError).error.message).toMatch(/Origin/);
    const own = await post(t.mcpUrl, init(), { origin: new URL(t.mcpUrl).origin });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBe(new URL(t.mcpUrl).origin);
    await own.body?.cancel();
  });

  it('refuses a Host that is not allowed (DNS rebinding) with 403', async () => {
    const { request } = await import('undici');
    const res = await request(t.mcpUrl, { method: 'POST', headers: { host: 'attacker.example', 'content-type': 'application/json', accept: ACCEPT }, body: JSON.stringify(init()) });
    expect(res.statusCode).toBe(403);
    await res.body.text();
  });

  it('gives JSON-RPC errors for bodies that are not JSON or too large, and 415/406 for wrong media types', async () => {
    const bad = await post(t.mcpUrl, '{"jsonrpc": "2.0", ');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as RpcError).error.code).toBe(-32700);
    const big = await post(t.mcpUrl, { ...init(), pad: 'x'.repeat(10_000) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as RpcError).error.code).toBe(-32600);
    const text = await fetch(t.mcpUrl, { method: 'POST', headers: { 'content-type': 'text/plain', accept: ACCEPT }, body: 'hi' });
    expect(text.status).toBe(415);
    const noAccept = await fetch(t.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(init()) });
    expect(noAccept.status).toBe(406);
  });

  it('needs a session for anything but initialize, and answers unknown sessions with 404', async () => {
    const noSession = await post(t.mcpUrl, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(noSession.status).toBe(400);
    const unknown = await post(t.mcpUrl, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': '00000000-0000-4000-8000-000000000000' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as RpcError).error.code).toBe(-32001);
  });

  it('rejects an unsupported MCP-Protocol-Version with 400', async () => {
    const id = await openSession(t.mcpUrl);
    const res = await post(t.mcpUrl, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'mcp-session-id': id, 'mcp-protocol-version': '1999-01-01' });
    expect(res.status).toBe(400);
  });

  it('ends a session on DELETE; its id then gets 404', async () => {
    const id = await openSession(t.mcpUrl);
    const del = await fetch(t.mcpUrl, { method: 'DELETE', headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } });
    expect(del.status).toBe(200);
    const after = await post(t.mcpUrl, { jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
    expect(after.status).toBe(404);
  });

  it('expires an idle session; its id then gets 404 and the client can start a new one', async () => {
    const id = await openSession(t.mcpUrl);
    t.clock.advance(61_000);
    const after = await post(t.mcpUrl, { jsonrpc: '2.0', id: 5, method: 'tools/list' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
    expect(after.status).toBe(404);
    expect(await openSession(t.mcpUrl)).not.toBe(id);
  });

  it('answers an unknown tool with the JSON-RPC protocol error -32602, not a tool result', async () => {
    const client = await t.client();
    await expect(client.callTool({ name: 'launch_missiles', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });

  it('keeps JSON answers for unknown paths', async () => {
    const res = await fetch(new URL('/nope', t.mcpUrl));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toMatch(/\/mcp/);
  });
});

describe('stateless mode', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ authOff: true, configure: (c) => ({ ...c, server: { ...c.server, sessions: 'stateless' } }) });
  });
  afterAll(async () => t?.close());

  it('serves tool calls without sessions and refuses GET and DELETE with 405', async () => {
    const client = await t.client();
    const tools = await client.listTools();
    expect(tools.tools.map((x) => x.name).sort()).toEqual(['cancel_job', 'get_job_status']);
    const res = await post(t.mcpUrl, { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'get_job_status', arguments: { project_reference: 'nope', job_id: 'x' } } });
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toBeNull();
    const body = (await res.json()) as { result: { structuredContent: { error: { code: string } } } };
    expect(body.result.structuredContent.error.code).toBe('UNKNOWN_PROJECT');
    for (const method of ['GET', 'DELETE']) {
      const r = await fetch(t.mcpUrl, { method, headers: { accept: 'text/event-stream' } });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
    }
  });
});
