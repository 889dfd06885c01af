// Each caller's tool calls are budgeted on their own: a runaway agent gets RATE_LIMITED, the others
// are still served, and the budget refills with time; and how per_second and burst become
// rate-limiter-flexible windows.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCallerRateLimit, type CallerRateLimit } from '../../src/mcp/caller-rate-limit.ts';
import { MCP_METHODS, type McpMethod } from '../../src/mcp/methods.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('per-caller rate limit', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      // A burst of 5: the client's handshake (initialize, notifications/initialized) costs 2, as every
      // message does, which leaves 3 tool calls.
      configure: (c) => ({ ...c, server: { ...c.server, caller_rate_limit: { enabled: true, per_second: 1, burst: 5 } } }),
    });
  });
  afterAll(async () => t?.close());

  // The budget is counted by rate-limiter-flexible, which reads the global Date and has no clock to
  // inject: the test holds Date still while it spends the budget (however slow the machine, the
  // calls fall in one window) and moves it past the window instead of sleeping.
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a caller beyond its budget with RATE_LIMITED, serves another caller, and refills', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const job = { project_reference: 'agents', job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]! };
    const greedy = await t.client({ token: await t.mint({ subject: 'greedy' }) });
    const polite = await t.client({ token: await t.mint({ subject: 'polite' }) });
    const before = t.sandbox.simulations.find((s) => s.kind === 'agent_jobs')!.server.requests.length;
    const answers = [];
    for (let i = 0; i < 5; i++)
      answers.push((await greedy.callTool({ name: 'get_job_status', arguments: job })).structuredContent as Record<string, unknown>);
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(answers[3]).toEqual({
      error: { code: 'RATE_LIMITED', message: 'Too many tool calls from you; retry in 1 s.', retry_after_seconds: 1 },
    });
    // Refused calls never reached the backend.
    expect(t.sandbox.simulations.find((s) => s.kind === 'agent_jobs')!.server.requests.length - before).toBe(3);
    expect(((await polite.callTool({ name: 'get_job_status', arguments: job })).structuredContent as { status: string }).status).toBe(
      'succeeded',
    );
    vi.setSystemTime(Date.now() + 1_050); // the steady window (1 per 1 s) passes
    expect(((await greedy.callTool({ name: 'get_job_status', arguments: job })).structuredContent as { status: string }).status).toBe(
      'succeeded',
    );
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /mcp_job_gateway_tool_calls_total\{tool="get_job_status",backend_kind="none",backend="none",outcome="RATE_LIMITED"\} 2/,
    );
  });
});

describe('per-caller budget: per_second and burst on rate-limiter-flexible', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-11-01T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
  async function takeMany(limit: CallerRateLimit, caller: string, n: number): Promise<number[]> {
    const waits = [];
    for (let i = 0; i < n; i++) waits.push(await limit.take(caller));
    return waits;
  }
  const granted = (waits: number[]) => waits.filter((w) => w === 0).length;

  it('defaults (20 per second, burst 100): 100 at once, then 20 a second from the steady window', async () => {
    const limit = createCallerRateLimit(createMemoryStore(), { perSecond: 20, burst: 100 });
    expect(granted(await takeMany(limit, 'a', 150))).toBe(100);
    expect(await limit.take('a')).toBe(1);
    advance(1_000);
    expect(granted(await takeMany(limit, 'a', 50))).toBe(20);
    // Another caller has a budget of its own.
    expect(granted(await takeMany(limit, 'b', 150))).toBe(100);
    // Once the burst window (burst / per_second = 5 s) has passed, the burst is back.
    advance(5_000);
    expect(granted(await takeMany(limit, 'a', 150))).toBe(100);
  });

  it('never grants a caller that never pauses more than per_second + (burst - per_second) x per_second / burst a second', async () => {
    const limit = createCallerRateLimit(createMemoryStore(), { perSecond: 20, burst: 100 });
    let total = 0;
    for (let s = 0; s < 60; s++) {
      total += granted(await takeMany(limit, 'runaway', 60));
      advance(1_000);
    }
    // 60 s: 20/s steady plus 80 extra every 5 s = 36/s, plus one burst at the start.
    expect(total).toBeLessThanOrEqual(60 * 36 + 100);
    expect(total).toBeGreaterThanOrEqual(60 * 20);
  });

  it('a fractional rate: 0.5 per second, burst 2', async () => {
    const limit = createCallerRateLimit(createMemoryStore(), { perSecond: 0.5, burst: 2 });
    expect(await takeMany(limit, 'slow', 3)).toEqual([0, 0, 2]);
    advance(2_000);
    expect(await takeMany(limit, 'slow', 2)).toEqual([0, 2]);
  });

  it('a burst no larger than per_second is one window of burst calls', async () => {
    const limit = createCallerRateLimit(createMemoryStore(), { perSecond: 20, burst: 10 });
    expect(granted(await takeMany(limit, 'c', 30))).toBe(10);
    advance(1_000);
    expect(granted(await takeMany(limit, 'c', 30))).toBe(10);
  });

  it('more points than a window can grant (a fan-out over more hosts than the burst) take the most a window grants', async () => {
    const limit = createCallerRateLimit(createMemoryStore(), { perSecond: 20, burst: 100 });
    // 500 points are taken as 80, the burst window's whole: granted once, then nothing until a window passes.
    expect(await limit.take('big', 500)).toBe(0);
    expect(await limit.take('big')).toBeGreaterThan(0);
    advance(5_000);
    expect(await limit.take('big', 500)).toBe(0);
    const single = createCallerRateLimit(createMemoryStore(), { perSecond: 20, burst: 10 });
    expect(await single.take('big', 49)).toBe(0);
    expect(await single.take('big')).toBe(1);
  });

  it('a limiter that fails (not a refusal) never refuses calls', async () => {
    const broken = {
      ...createMemoryStore(),
      limiter: () => ({ consume: () => Promise.reject(new Error('store exploded')) }),
    } as unknown as StateStore;
    const limit = createCallerRateLimit(broken, { perSecond: 1, burst: 1 });
    expect(await takeMany(limit, 'x', 3)).toEqual([0, 0, 0]);
  });
});

describe('every message a caller sends costs budget: no method of the table is free', () => {
  // Windows far longer than the test runs in real time: rate-limiter-flexible's memory store drops a
  // window on a real timer as well as on Date, so a window must not end while Date is held still.
  // 0.01 a second is one call per 100 s steady, and a burst of 100.
  const PER_SECOND = 0.01;
  const BURST = 100;
  let t: TestGateway;
  let job: { project_reference: string; job_id: string };
  beforeAll(async () => {
    t = await startTestGateway({
      configure: (c) => ({ ...c, server: { ...c.server, caller_rate_limit: { enabled: true, per_second: PER_SECOND, burst: BURST } } }),
    });
    job = { project_reference: 'agents', job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]! };
  });
  afterAll(async () => t?.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  const MODERN = '2026-07-28';
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  };
  type Era = 'modern' | 'legacy';
  /** One message of `method` in an era, as a well-behaved client sends it (the kind the table gives it). */
  function message(era: Era, method: McpMethod, id: number): { body: Record<string, unknown>; headers: Record<string, string> } {
    const request = MCP_METHODS[method].kind === 'request';
    let params: Record<string, unknown> = {};
    if (method === 'tools/call') params = { name: 'get_job_status', arguments: job };
    if (method === 'initialize') params = { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } };
    if (method === 'notifications/cancelled') params = { requestId: 1 };
    const body = { jsonrpc: '2.0', ...(request ? { id } : {}), method, params: era === 'modern' ? { ...params, _meta: envelope } : params };
    const headers: Record<string, string> =
      era === 'modern'
        ? {
            'mcp-protocol-version': MODERN,
            ...(request ? { 'mcp-method': method } : {}),
            ...(method === 'tools/call' ? { 'mcp-name': 'get_job_status' } : {}),
          }
        : { 'mcp-protocol-version': '2025-11-25' };
    return { body, headers };
  }
  /** Sends one message; its HTTP status, and the JSON-RPC error or tool error code when there is one (a stream is not read). */
  async function send(
    token: string,
    era: Era,
    method: McpMethod,
    id: number,
  ): Promise<{ status: number; refusal?: unknown; retryAfter?: string | null }> {
    const { body, headers } = message(era, method, id);
    const abort = new AbortController();
    const res = await fetch(t.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        ...headers,
      },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    if (res.status === 429) {
      const rpc = (await res.json()) as { id: unknown; error: { code: number; data: unknown } };
      return {
        status: 429,
        refusal: { id: rpc.id, code: rpc.error.code, data: rpc.error.data },
        retryAfter: res.headers.get('retry-after'),
      };
    }
    if (method === 'tools/call' && res.status === 200) {
      const text = await res.text();
      const data = text.startsWith('{')
        ? text
        : text
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .at(-1)!
            .slice(6);
      const result = (JSON.parse(data) as { result: { structuredContent: { error?: { code: string } } } }).result;
      return { status: 200, refusal: result.structuredContent.error?.code };
    }
    abort.abort(); // a stream (subscriptions/listen) is not read
    await res.body?.cancel().catch(() => {});
    return { status: res.status };
  }

  for (const era of ['modern', 'legacy'] as const) {
    it(`charges each method of the table (${era} era): the message past a caller's budget is refused, whatever its method`, async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      const methods = Object.keys(MCP_METHODS) as McpMethod[];
      expect(methods).toContain('tools/list');
      for (const method of methods) {
        const token = await t.mint({ subject: `each-${era}-${method}` });
        const spent = [];
        for (let i = 0; i < BURST; i++) spent.push((await send(token, era, method, i + 1)).status);
        expect(
          spent.filter((s) => s === 429),
          `${era} ${method}`,
        ).toEqual([]);
        const past = await send(token, era, method, BURST + 1);
        if (method === 'tools/call') expect(past, `${era} ${method}`).toEqual({ status: 200, refusal: 'RATE_LIMITED' });
        else {
          const id = MCP_METHODS[method].kind === 'request' ? BURST + 1 : null;
          expect(past, `${era} ${method}`).toEqual({
            status: 429,
            refusal: { id, code: -32000, data: { code: 'RATE_LIMITED', retry_after_seconds: 100 } },
            retryAfter: '100',
          });
        }
      }
    });

    it(`charges a call of a job tool that the SDK refuses before any handler runs (${era} era)`, async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      const token = await t.mint({ subject: `refused-early-${era}` });
      // A protocol error before the handler: in 2026-07-28 an Mcp-Name header that disagrees with the
      // body (-32020), in the 2025 era a version the gateway does not speak.
      const { body, headers } = message(era, 'tools/call', 1);
      const broken = era === 'modern' ? { ...headers, 'mcp-name': 'cancel_job' } : { 'mcp-protocol-version': '1999-01-01' };
      const post = () =>
        fetch(t.mcpUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${token}`,
            ...broken,
          },
          body: JSON.stringify(body),
        });
      const statuses = [];
      for (let i = 0; i < BURST + 3; i++) statuses.push((await post()).status);
      expect(statuses.slice(0, BURST).every((s) => s === 400)).toBe(true);
      expect(statuses.slice(BURST)).toEqual([429, 429, 429]);
      // The same caller's well-formed call is now refused too: the refused ones spent its budget.
      expect(await send(token, era, 'tools/call', 2)).toMatchObject({ status: 200, refusal: 'RATE_LIMITED' });
    });

    it(`refuses 1,000 tools/list from one caller past its budget with RATE_LIMITED (${era} era), and serves another caller`, async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      const greedy = await t.mint({ subject: `list-greedy-${era}` });
      const polite = await t.mint({ subject: `list-polite-${era}` });
      const statuses = new Map<number, number>();
      for (let i = 0; i < 1000; i++) {
        const { status } = await send(greedy, era, 'tools/list', i + 1);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      expect(Object.fromEntries(statuses)).toEqual({ 200: BURST, 429: 1000 - BURST });
      expect((await send(polite, era, 'tools/list', 1)).status).toBe(200);
      expect(await send(polite, era, 'tools/call', 2)).toEqual({ status: 200, refusal: undefined });
      // Once the steady window (one call per 100 s) has passed, the greedy caller gets that one call.
      vi.setSystemTime(Date.now() + 100_050);
      const after = [];
      for (let i = 0; i < 5; i++) after.push((await send(greedy, era, 'tools/list', i + 1)).status);
      expect(after).toEqual([200, 429, 429, 429, 429]);
    });
  }
});
