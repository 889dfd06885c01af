// The table of MCP methods (src/mcp/methods.ts) against the SDK: every method the SDK knows (the
// request and notification method literals of its exported spec schemas) is either in the table or
// refused before any handler runs, in both protocol eras, with the answer the SDK itself gives a
// method it does not serve. And how a body is placed in the table: the scope it needs, a tool's own
// scope, the kinds of message.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpHandler, specTypeSchemas } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { TaskService } from '../../src/mcp/tasks/task-service.ts';
import type { JobService } from '../../src/jobs/job-service.ts';
import { createToolDispatcher } from '../../src/mcp/dispatch.ts';
import { createMcpEndpoint } from '../../src/mcp/endpoint.ts';
import { MCP_METHODS, createMessageResolver, methodPolicy, type McpMethod } from '../../src/mcp/methods.ts';
import { createServerFactory } from '../../src/mcp/server.ts';
import { JOB_TOOLS } from '../../src/mcp/tools/job-tools.ts';
import { createApp } from '../../src/http/app.ts';
import { createRequestContextStore } from '../../src/http/request-context.ts';

type Kind = 'request' | 'notification';
type Era = 'modern' | 'legacy';

/** Every method the SDK has a spec schema for, with its kind: the methods it would route. */
function sdkMethods(): { method: string; kind: Kind }[] {
  const found: { method: string; kind: Kind }[] = [];
  for (const [name, schema] of Object.entries(specTypeSchemas)) {
    const literal = (schema as { shape?: { method?: { value?: unknown } } }).shape?.method?.value;
    if (typeof literal !== 'string') continue;
    if (name.endsWith('Request')) found.push({ method: literal, kind: 'request' });
    else if (name.endsWith('Notification')) found.push({ method: literal, kind: 'notification' });
  }
  return found;
}

const MODERN = '2026-07-28';
const envelope = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

/** A well-formed message of an era: the 2026-07-28 envelope and standard headers, or the 2025-era version header. */
function message(era: Era, kind: Kind, method: string): { body: Record<string, unknown>; headers: Record<string, string> } {
  const id = kind === 'request' ? { id: `${era}-${method}` } : {};
  if (era === 'legacy') return { body: { jsonrpc: '2.0', ...id, method, params: {} }, headers: { 'mcp-protocol-version': '2025-11-25' } };
  return {
    body: { jsonrpc: '2.0', ...id, method, params: { _meta: envelope } },
    headers: { 'mcp-protocol-version': MODERN, ...(kind === 'request' ? { 'mcp-method': method } : {}) },
  };
}

interface Answer {
  status: number;
  /** The JSON-RPC message answered (from JSON or from the SSE event carrying it), if any. */
  rpc: { id?: unknown; error?: { code: number; message: string; data?: unknown }; result?: unknown } | undefined;
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (text === '') return { status: res.status, rpc: undefined };
  const data = (res.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .at(-1)!
    : text;
  const { jsonrpc: _v, ...rpc } = JSON.parse(data) as Record<string, unknown>;
  return { status: res.status, rpc };
}

async function listen(server: HttpServer): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

describe('every method the SDK routes is in the table or refused before any handler runs', () => {
  const info = { name: 'methods-test', version: '1' };
  // No job tool is called here: a refused message never reaches one.
  const dispatcher = createToolDispatcher({ service: {} as JobService, limits: { maxWaitSeconds: 60, maxTaskWaitSeconds: 86_400 } });
  const serverFactory = createServerFactory({
    dispatcher,
    tasks: {} as TaskService,
    info,
    validator: new AjvJsonSchemaValidator(),
    requestId: () => undefined,
  });
  /** SDK servers built for the gateway: a refused message builds none, so no handler can run for it. */
  let built = 0;
  const endpoint = createMcpEndpoint({
    dispatcher,
    createServer: () => (built++, serverFactory()),
    info,
    maxBodyBytes: 1_000_000,
    logger: pino({ level: 'silent' }),
    requestId: () => undefined,
  });
  const gatewayServer = createServer(
    createApp({
      mcpPath: '/mcp',
      allowedHosts: ['127.0.0.1'],
      allowedOrigins: [],
      maxBodyBytes: 1_000_000,
      endpoint,
      logger: pino({ level: 'silent' }),
      onRequest: () => () => {},
      context: createRequestContextStore(),
      trackOperation: () => undefined,
    }),
  );
  // The SDK alone, with the same server: what it answers without the gateway in front.
  const sdk = createMcpHandler(serverFactory, { legacy: 'stateless', responseMode: 'auto' });
  const serveSdk = toNodeHandler(sdk);
  const sdkServer = createServer((req, res) => void serveSdk(req, res));
  let gatewayUrl: string;
  let sdkUrl: string;
  beforeAll(async () => {
    gatewayUrl = await listen(gatewayServer);
    sdkUrl = await listen(sdkServer);
  });
  afterAll(async () => {
    await endpoint.close();
    await sdk.close();
    gatewayServer.closeAllConnections();
    sdkServer.closeAllConnections();
    await Promise.all([gatewayServer, sdkServer].map((s) => new Promise((resolve) => s.close(resolve))));
  });

  const known = sdkMethods();
  const inTable = (method: string, kind: Kind) => methodPolicy(method)?.kind === kind;

  it("reads the methods from the SDK, and the table names only methods the SDK knows, each of its own kind, or the Tasks extension's", () => {
    // The enumeration found the SDK's methods (not an empty list that would prove nothing).
    for (const m of ['initialize', 'tools/call', 'tasks/cancel', 'resources/read', 'sampling/createMessage'])
      expect(known.map((k) => k.method)).toContain(m);
    // tasks/update is the extension's own (2026-07-28): the SDK routes it because the server registers it with its params schema.
    const extension = new Set(['tasks/update']);
    for (const [method, policy] of Object.entries(MCP_METHODS)) {
      if (extension.has(method)) expect(policy.kind).toBe('request');
      else expect(known, method).toContainEqual({ method, kind: policy.kind });
      expect(policy.label).toBe(method);
    }
  });

  const refused = [
    ...known.filter((k) => !inTable(k.method, k.kind)),
    // A method no one defines, and methods of the table sent as the other kind of message.
    { method: 'acme/launch_missiles', kind: 'request' as const },
    { method: 'acme/launch_missiles', kind: 'notification' as const },
    { method: 'tools/list', kind: 'notification' as const },
    { method: 'notifications/initialized', kind: 'request' as const },
  ];

  for (const era of ['modern', 'legacy'] as const) {
    it(`refuses each other method (${era} era) as the SDK would, without building a server`, async () => {
      expect(refused.length).toBeGreaterThan(20);
      for (const { method, kind } of refused) {
        const { body, headers } = message(era, kind, method);
        const before = built;
        const ours = await post(gatewayUrl, body, headers);
        expect(built, `${kind} ${method}`).toBe(before);
        const theirs = await post(sdkUrl, body, headers);
        expect(ours, `${kind} ${method}`).toEqual(theirs);
        if (kind === 'request') expect(ours.rpc?.error?.code, `${kind} ${method}`).toBe(-32601);
        else expect(ours.status, `${kind} ${method}`).toBe(202);
      }
    });
  }

  it('leaves a refused method that fails an earlier protocol check to the SDK, which answers that check', async () => {
    const unknown = 'resources/list';
    const cases: { what: string; body: unknown; headers: Record<string, string> }[] = [
      {
        what: 'an envelope without clientCapabilities',
        body: { jsonrpc: '2.0', id: 1, method: unknown, params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } },
        headers: { 'mcp-protocol-version': MODERN, 'mcp-method': unknown },
      },
      {
        what: 'no Mcp-Method header',
        body: { jsonrpc: '2.0', id: 2, method: unknown, params: { _meta: envelope } },
        headers: { 'mcp-protocol-version': MODERN },
      },
      {
        what: 'an Mcp-Method header naming another method',
        body: { jsonrpc: '2.0', id: 3, method: unknown, params: { _meta: envelope } },
        headers: { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' },
      },
      {
        what: 'an unsupported 2025-era version',
        body: { jsonrpc: '2.0', id: 4, method: unknown, params: {} },
        headers: { 'mcp-protocol-version': '1999-01-01' },
      },
      { what: 'a null id', body: { jsonrpc: '2.0', id: null, method: unknown }, headers: {} },
    ];
    for (const c of cases) {
      const ours = await post(gatewayUrl, c.body, c.headers);
      expect(ours.status, c.what).toBe(400);
      expect(ours, c.what).toEqual(await post(sdkUrl, c.body, c.headers));
    }
  });

  it('serves the methods of the table as before: tools/list in both eras, an unknown tool as -32602', async () => {
    for (const era of ['modern', 'legacy'] as const) {
      const list = message(era, 'request', 'tools/list');
      const answer = await post(gatewayUrl, list.body, list.headers);
      expect((answer.rpc?.result as { tools: { name: string }[] }).tools.map((t) => t.name)).toEqual(JOB_TOOLS.map((t) => t.name));
      const call = message(era, 'request', 'tools/call');
      const params = { ...call.body.params!, name: 'launch_missiles', arguments: {} };
      const headers = era === 'modern' ? { ...call.headers, 'mcp-name': 'launch_missiles' } : call.headers;
      expect((await post(gatewayUrl, { ...call.body, params }, headers)).rpc?.error?.code).toBe(-32602);
    }
  });
});

describe('placing a body in the table', () => {
  const resolve = createMessageResolver((name) => JOB_TOOLS.find((t) => t.name === name));
  const request = (method: string, params: Record<string, unknown> = {}) => resolve({ jsonrpc: '2.0', id: 1, method, params });

  it('gives tools/call the scope of the tool it calls, and read to a name that is no tool', () => {
    for (const tool of JOB_TOOLS) expect(request('tools/call', { name: tool.name }).scope).toBe(tool.scope);
    expect(request('tools/call', { name: 'cancel_job' }).scope).toBe('cancel');
    expect(request('tools/call', { name: 'launch_missiles' })).toMatchObject({
      scope: 'read',
      tool: undefined,
      toolName: 'launch_missiles',
    });
    expect(request('tools/call').scope).toBe('read');
  });

  it("gives every other method of the table its entry's scope, and read to anything the table lacks", () => {
    for (const [method, policy] of Object.entries(MCP_METHODS)) {
      if (policy.scope === 'tool') continue;
      const body = policy.kind === 'request' ? { jsonrpc: '2.0', id: 1, method } : { jsonrpc: '2.0', method };
      expect(resolve(body)).toMatchObject({ kind: policy.kind, policy: MCP_METHODS[method as McpMethod], scope: policy.scope });
    }
    for (const body of [
      { jsonrpc: '2.0', id: 1, method: 'tasks/result', params: { taskId: 't' } }, // gone from the Tasks extension
      { jsonrpc: '2.0', id: 1, method: 'tasks/list', params: {} },
      { jsonrpc: '2.0', method: 'tools/call', params: { name: 'cancel_job' } }, // a notification: no entry
      [{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'cancel_job' } }],
      { jsonrpc: '2.0', id: 1, result: {} },
    ])
      expect(resolve(body)).toMatchObject({ policy: undefined, scope: 'read' });
  });

  it('tells requests, notifications and anything else apart, and finds no entry under inherited names', () => {
    expect(resolve({ jsonrpc: '2.0', id: 'a', method: 'ping' }).kind).toBe('request');
    expect(resolve({ jsonrpc: '2.0', method: 'notifications/initialized' }).kind).toBe('notification');
    for (const body of [
      { jsonrpc: '2.0', id: null, method: 'ping' },
      { jsonrpc: '2.0', id: 1.5, method: 'ping' },
      { jsonrpc: '1.0', id: 1, method: 'ping' },
      { jsonrpc: '2.0', id: 1, method: 'ping', params: [1] },
      { jsonrpc: '2.0', id: 1, result: {} },
      [],
      'ping',
    ])
      expect(resolve(body).kind, JSON.stringify(body)).toBe('other');
    for (const method of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(request(method).policy).toBeUndefined();
  });
});
