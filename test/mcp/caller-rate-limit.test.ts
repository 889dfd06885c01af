// Each caller's tool calls are budgeted on their own: a runaway agent gets RATE_LIMITED, the others
// are still served, and the budget refills with time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallerRateLimit } from '../../src/mcp/caller-rate-limit.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('per-caller rate limit', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ configure: (c) => ({ ...c, server: { ...c.server, caller_rate_limit: { enabled: true, per_second: 1, burst: 3 } } }) });
  });
  afterAll(async () => t?.close());

  it('refuses a caller beyond its budget with RATE_LIMITED, serves another caller, and refills', async () => {
    const job = { project_reference: 'agents', job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]! };
    const greedy = await t.client({ token: await t.mint({ subject: 'greedy' }) });
    const polite = await t.client({ token: await t.mint({ subject: 'polite' }) });
    const before = t.sandbox.simulations.find((s) => s.kind === 'agent_jobs')!.server.requests.length;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await greedy.callTool({ name: 'get_job_status', arguments: job })).structuredContent as Record<string, unknown>);
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(answers[3]).toEqual({ error: { code: 'RATE_LIMITED', message: 'Too many tool calls from you; retry in 1 s.', retry_after_seconds: 1 } });
    // Refused calls never reached the backend.
    expect(t.sandbox.simulations.find((s) => s.kind === 'agent_jobs')!.server.requests.length - before).toBe(3);
    expect(((await polite.callTool({ name: 'get_job_status', arguments: job })).structuredContent as { status: string }).status).toBe('succeeded');
    t.clock.advance(1_000);
    expect(((await greedy.callTool({ name: 'get_job_status', arguments: job })).structuredContent as { status: string }).status).toBe('succeeded');
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/mcp_job_gateway_tool_calls_total\{tool="get_job_status",outcome="RATE_LIMITED",backend_kind="none",backend="none"\} 2/);
  });

  it('forgets the least recently seen caller when it holds too many', () => {
    let now = 0;
    const limit = createCallerRateLimit({ perSecond: 1, burst: 1, now: () => now, maxCallers: 2 });
    expect(limit.take('a')).toBe(0);
    expect(limit.take('a')).toBe(1);
    limit.take('b');
    limit.take('c'); // evicts a
    expect(limit.take('a')).toBe(0); // a starts over with a full bucket
    now += 500;
    expect(limit.take('c')).toBe(1);
  });
});
