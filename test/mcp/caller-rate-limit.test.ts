// Each caller's tool calls are budgeted on their own: a runaway agent gets RATE_LIMITED, the others
// are still served, and the budget refills with time; and how per_second and burst become
// rate-limiter-flexible windows.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCallerRateLimit, type CallerRateLimit } from '../../src/mcp/caller-rate-limit.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('per-caller rate limit', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      configure: (c) => ({ ...c, server: { ...c.server, caller_rate_limit: { enabled: true, per_second: 1, burst: 3 } } }),
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

  it('a limiter that fails (not a refusal) never refuses calls', async () => {
    const broken = {
      ...createMemoryStore(),
      limiter: () => ({ consume: () => Promise.reject(new Error('store exploded')) }),
    } as unknown as StateStore;
    const limit = createCallerRateLimit(broken, { perSecond: 1, burst: 1 });
    expect(await takeMany(limit, 'x', 3)).toEqual([0, 0, 0]);
  });
});
