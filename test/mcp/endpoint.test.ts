// The MCP endpoint spoken to with raw HTTP, in both protocol eras, where an SDK client would hide
// the detail: the 2026-07-28 envelope and headers, the 2025-era handshake without sessions,
// batches, malformed calls, guards and methods.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, seed, type TestGateway } from '../helpers/gateway.ts';
import { rpcResult } from '../auth/helpers.ts';
import { expectMatchesOutputSchema } from '../helpers/result-schemas.ts';

type RpcError = { id: unknown; error: { code: number; message: string; data?: Record<string, unknown> } };

const ACCEPT = 'application/json, text/event-stream';
const MODERN = '2026-07-28';
const envelope = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
};

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** One raw HTTP/1.1 request with this exact Host header (fetch and undici will not send a hostile one); its status. */
function rawStatus(url: string, method: 'GET' | 'POST', host: string, body = ''): Promise<number> {
  const { hostname, port, pathname } = new URL(url);
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
    socket.on('close', () => reject(new Error(`no status line for Host ${JSON.stringify(host)}: ${JSON.stringify(got)}`)));
    const headers = [`Host: ${host}`, 'Content-Type: application/json', `Accept: ${ACCEPT}`, `Content-Length: ${Buffer.byteLength(body)}`];
    socket.write(`${method} ${pathname} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
  });
}

/** Host header values that are no host[:port] (RFC 9110 7.2), each of which URL parsing would take or mend. */
const HOSTILE_HOSTS = (port: string) => [
  'x@127.0.0.1',
  `x@127.0.0.1:${port}`,
  `user:pw@localhost:${port}`,
  `127.0.0.1/mcp`,
  `127.0.0.1:${port}/x`,
  '127.0.0.1?q',
  '127.0.0.1#f',
  '127.0.0.1:99999',
  '127.0.0.1:',
  '127.0.0.1:8o',
  `127.0.0.1:${port}:${port}`,
  '%31%32%37.0.0.1',
  '127.0.0.1\\x',
  '[::1',
  '[zz::1]',
  '[::1]x',
  'local host',
  '',
];

/** A 2026-07-28 request with its envelope and the standard headers (each overridable). */
function modern(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  id: number | string = 1,
) {
  const name: Record<string, string> = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  return post(
    url,
    { jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope } },
    { 'mcp-protocol-version': MODERN, 'mcp-method': method, ...name, ...headers },
  );
}

const legacyInit = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('one endpoint for both protocol eras, without sessions', () => {
  let t: TestGateway;
  let running: string;
  beforeAll(async () => {
    t = await startTestGateway({ authOff: true, configure: (c) => ({ ...c, server: { ...c.server, max_body_bytes: 4096 } }) });
    running = seed(t, 'agents', 'running');
  });
  afterAll(async () => t?.close());

  it('answers server/discover with the supported version, capabilities, serverInfo and caching hints', async () => {
    const res = await modern(t.mcpUrl, 'server/discover');
    expect(res.status).toBe(200);
    const { result } = await rpcResult(res);
    expect(result).toMatchObject({
      resultType: 'complete',
      supportedVersions: expect.arrayContaining([MODERN]),
      capabilities: { tools: {} },
      cacheScope: 'public',
      ttlMs: 300_000,
    });
    expect((result!._meta as Record<string, unknown>)['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'mcp-job-gateway' });
  });

  it('lists the tools with resultType and public caching hints in 2026-07-28', async () => {
    const { result } = await rpcResult(await modern(t.mcpUrl, 'tools/list'));
    expect((result!.tools as { name: string }[]).map((x) => x.name)).toEqual([
      'list_projects',
      'get_job_status',
      'cancel_job',
      'list_jobs',
    ]);
    expect(result).toMatchObject({ resultType: 'complete', ttlMs: 300_000, cacheScope: 'public' });
  });

  it('answers a 2026-07-28 tools/call with resultType and serverInfo, the same result as a 2025-era call', async () => {
    const args = { project_reference: 'agents', job_id: running };
    const m = await modern(t.mcpUrl, 'tools/call', { name: 'get_job_status', arguments: args });
    expect(m.status).toBe(200);
    const mr = expectMatchesOutputSchema('get_job_status', (await rpcResult(m)).result!);
    expect(mr).toMatchObject({ resultType: 'complete', structuredContent: { status: 'running', found: true } });
    expect((mr._meta as Record<string, unknown>)['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'mcp-job-gateway' });
    const l = await post(
      t.mcpUrl,
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_job_status', arguments: args } },
      { 'mcp-protocol-version': '2025-11-25' },
    );
    const lr = expectMatchesOutputSchema('get_job_status', (await rpcResult(l)).result!);
    expect(lr).not.toHaveProperty('resultType');
    const { resultType: _r, _meta: _m, ...bare } = mr;
    expect(lr).toEqual(bare);
  });

  it('takes the lean path and the SDK path to the same answer (a progress token sends a call through the SDK)', async () => {
    const params = { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: running } };
    const lean = expectMatchesOutputSchema('get_job_status', (await rpcResult(await modern(t.mcpUrl, 'tools/call', params))).result);
    const res = await post(
      t.mcpUrl,
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { ...params, _meta: { ...envelope, progressToken: 'p1' } } },
      { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'get_job_status' },
    );
    expect((await rpcResult(res)).result).toEqual(lean);
  });

  it('checks Mcp-Method and Mcp-Name against the body: -32020 with HTTP 400 on a mismatch or a missing header', async () => {
    const params = { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: running } };
    const before = t.sandbox.simulations.reduce((n, s) => n + s.server.requests.length, 0);
    for (const headers of [{ 'mcp-method': 'tools/list' }, { 'mcp-name': 'cancel_job' }] as Record<string, string>[]) {
      const res = await modern(t.mcpUrl, 'tools/call', params, headers, 42);
      expect(res.status).toBe(400);
      expect((await res.json()) as RpcError).toMatchObject({ id: 42, error: { code: -32020 } });
    }
    const missing = await post(
      t.mcpUrl,
      { jsonrpc: '2.0', id: 43, method: 'tools/call', params: { ...params, _meta: envelope } },
      { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call' },
    );
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as RpcError).error.code).toBe(-32020);
    // None of them reached a backend.
    expect(t.sandbox.simulations.reduce((n, s) => n + s.server.requests.length, 0)).toBe(before);
  });

  it('answers an unsupported version with -32022 naming the supported ones, and a broken envelope with -32602', async () => {
    const res = await post(
      t.mcpUrl,
      {
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/list',
        params: { _meta: { ...envelope, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
      },
      { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' },
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as RpcError;
    expect(body.error.code).toBe(-32022);
    expect(body.error.data).toMatchObject({ supported: expect.arrayContaining([MODERN]), requested: '2099-01-01' });
    const noCaps = await post(
      t.mcpUrl,
      { jsonrpc: '2.0', id: 6, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } },
      { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
    );
    expect(noCaps.status).toBe(400);
    expect(((await noCaps.json()) as RpcError).error.code).toBe(-32602);
  });

  it('serves the 2025-era handshake statelessly: no session id is ever minted, and calls need none', async () => {
    for (const version of ['2025-11-25', '2025-06-18', '2025-03-26']) {
      const init = await post(t.mcpUrl, { ...legacyInit, params: { ...legacyInit.params, protocolVersion: version } });
      expect(init.status).toBe(200);
      expect(init.headers.get('mcp-session-id')).toBeNull();
      expect((await rpcResult(init)).result).toMatchObject({ protocolVersion: version, capabilities: { tools: {} } });
      const call = await post(
        t.mcpUrl,
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: running } },
        },
        { 'mcp-protocol-version': version },
      );
      expect(expectMatchesOutputSchema('get_job_status', (await rpcResult(call)).result).structuredContent).toMatchObject({
        status: 'running',
      });
    }
    const ack = await post(t.mcpUrl, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-protocol-version': '2025-11-25' });
    expect(ack.status).toBe(202);
  });

  it('refuses JSON-RPC batches with Invalid Request in both eras, the empty one included', async () => {
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    for (const body of [[], [call, { ...call, id: 2 }], [{ ...call, params: { _meta: envelope } }]]) {
      const res = await post(t.mcpUrl, body, { 'mcp-protocol-version': '2025-11-25' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as RpcError).error.code).toBe(-32600);
    }
  });

  it('answers non-object arguments with INVALID_ARGUMENT, never -32603 or a validation dump', async () => {
    for (const args of ['a string', [1, 2], 42]) {
      for (const era of ['modern', 'legacy'] as const) {
        const params = { name: 'get_job_status', arguments: args };
        const res =
          era === 'modern'
            ? await modern(t.mcpUrl, 'tools/call', params)
            : await post(t.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'tools/call', params }, { 'mcp-protocol-version': '2025-11-25' });
        const { result, error } = await rpcResult(res);
        if (error) {
          expect(error.code).toBe(-32602);
        } else {
          expect(expectMatchesOutputSchema('get_job_status', result)).toMatchObject({
            isError: true,
            structuredContent: { error: { code: 'INVALID_ARGUMENT' } },
          });
          expect(JSON.stringify(result)).not.toMatch(/"expected"|"path"|issues/);
        }
      }
    }
  });

  it('answers an unknown tool with the JSON-RPC error -32602 in both eras', async () => {
    const m = await modern(t.mcpUrl, 'tools/call', { name: 'launch_missiles', arguments: {} });
    expect((await rpcResult(m)).error?.code).toBe(-32602);
    const client = await t.client();
    await expect(client.callTool({ name: 'launch_missiles', arguments: {} })).rejects.toMatchObject({ code: -32602 });
  });

  it('answers GET, DELETE and other methods with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'DELETE', 'PUT']) {
      const res = await fetch(t.mcpUrl, { method, headers: { accept: 'text/event-stream' } });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });

  it('refuses a foreign Origin with 403 and serves an allowed one with CORS headers', async () => {
    const evil = await post(t.mcpUrl, legacyInit, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as RpcError).error.message).toMatch(/Origin/);
    const own = await post(t.mcpUrl, legacyInit, { origin: new URL(t.mcpUrl).origin });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBe(new URL(t.mcpUrl).origin);
    await own.body?.cancel();
    const preflight = await fetch(t.mcpUrl, {
      method: 'OPTIONS',
      headers: { origin: new URL(t.mcpUrl).origin, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/mcp-method.*mcp-name/);
  });

  it('refuses a Host that is not allowed (DNS rebinding) with 403', async () => {
    const { request } = await import('undici');
    const res = await request(t.mcpUrl, {
      method: 'POST',
      headers: { host: 'attacker.example', 'content-type': 'application/json', accept: ACCEPT },
      body: JSON.stringify(legacyInit),
    });
    expect(res.statusCode).toBe(403);
    await res.body.text();
  });

  it('refuses a malformed Host header with 400 before anything else, for every method, and serves a well-formed one', async () => {
    const port = new URL(t.mcpUrl).port;
    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: running } },
    });
    for (const host of HOSTILE_HOSTS(port)) {
      for (const body of [JSON.stringify(legacyInit), call]) {
        expect({ host, body: body.slice(0, 40), status: await rawStatus(t.mcpUrl, 'POST', host, body) }).toEqual({
          host,
          body: body.slice(0, 40),
          status: 400,
        });
      }
      // Off the MCP path (metadata, 404s) too: the Host check runs first.
      expect({ host, status: await rawStatus(new URL('/nothing', t.mcpUrl).href, 'GET', host) }).toEqual({ host, status: 400 });
    }
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect({ host, status: await rawStatus(t.mcpUrl, 'POST', host, call) }).toEqual({ host, status: 200 });
    }
    // Well-formed, but not a name this gateway answers to (URL parsing would have read it as 127.0.0.1).
    for (const host of ['0x7f.0.0.1', '127.1', 'attacker.example:80']) {
      expect({ host, status: await rawStatus(t.mcpUrl, 'POST', host, call) }).toEqual({ host, status: 403 });
    }
  });

  it('gives JSON-RPC errors for bodies that are not JSON or too large, and 415/406 for wrong media types', async () => {
    const bad = await post(t.mcpUrl, '{"jsonrpc": "2.0", ');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as RpcError).error.code).toBe(-32700);
    const scalar = await post(t.mcpUrl, '"just a string"');
    expect(scalar.status).toBe(400);
    const big = await post(t.mcpUrl, { ...legacyInit, pad: 'x'.repeat(10_000) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as RpcError).error.code).toBe(-32600);
    const text = await fetch(t.mcpUrl, { method: 'POST', headers: { 'content-type': 'text/plain', accept: ACCEPT }, body: 'hi' });
    expect(text.status).toBe(415);
    const noAccept = await fetch(t.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(legacyInit),
    });
    expect(noAccept.status).toBe(406);
  });

  it('refuses a body nested deeper than 64 levels with Invalid Request in both eras, and serves one 60 levels deep', async () => {
    const nested = (levels: number) => JSON.parse('{"a":'.repeat(levels) + '1' + '}'.repeat(levels)) as unknown;
    const args = { project_reference: 'agents', job_id: running };
    for (const [where, levels, status] of [
      ['_meta', 100, 400],
      ['arguments', 100, 400],
      ['_meta', 60, 200],
      ['arguments', 60, 200],
    ] as const) {
      const deep = nested(levels);
      const params =
        where === 'arguments'
          ? { name: 'get_job_status', arguments: { ...args, extra: deep } }
          : { name: 'get_job_status', arguments: args };
      const modernCall = await post(
        t.mcpUrl,
        {
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { ...params, _meta: where === '_meta' ? { ...envelope, 'x-deep': deep } : envelope },
        },
        { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'get_job_status' },
      );
      const legacyCall = await post(t.mcpUrl, {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: where === '_meta' ? { ...params, _meta: { 'x-deep': deep } } : params,
      });
      for (const res of [modernCall, legacyCall]) {
        expect(res.status).toBe(status);
        const answer = (await res.json()) as RpcError & { result?: unknown };
        if (status === 400)
          expect(answer.error).toEqual({ code: -32600, message: 'Invalid Request: the JSON body nests deeper than 64 levels' });
        else {
          expect(answer.error).toBeUndefined(); // served: a result (an INVALID_ARGUMENT tool error for the extra argument)
          expectMatchesOutputSchema('get_job_status', answer.result);
        }
      }
    }
  });

  it('keeps JSON answers for unknown paths', async () => {
    const res = await fetch(new URL('/nope', t.mcpUrl));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toMatch(/\/mcp/);
  });
});

describe('a body nested thousands of levels deep (within the default size limit)', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ authOff: true });
  });
  afterAll(async () => t?.close());

  it('is refused with Invalid Request in both eras, never an internal error', async () => {
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000); // 60 KB: serializing it again overflowed the stack
    const modernBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_job_status","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"${MODERN}","io.modelcontextprotocol/clientCapabilities":{},"x":${deep}}}}`;
    const legacyBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_job_status","arguments":{"x":${deep}}}}`;
    const answers = [
      await post(t.mcpUrl, modernBody, { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'get_job_status' }),
      await post(t.mcpUrl, legacyBody),
    ];
    for (const res of answers) {
      expect(res.status).toBe(400);
      expect(((await res.json()) as RpcError).error.code).toBe(-32600);
    }
  });
});
