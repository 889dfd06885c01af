// Fan-out counts: on a ComfyUI project with many hosts, a call that asks every host (an id no host
// is known to have, a listing) charges the caller's budget one call per host beyond the first, so a
// caller's host requests are bounded by its budget, not by its budget times the number of hosts.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const HOSTS = 50;
// One steady call per 100 s and a burst of 200: windows far longer than the test runs, since
// rate-limiter-flexible's memory store also ends a window on a real timer (Date is held still).
const BUDGET = 200;

describe('a fan-out over 50 ComfyUI hosts costs the caller one call per host beyond the first', () => {
  let t: TestGateway;
  let hostRequests: () => number;
  beforeAll(async () => {
    t = await startTestGateway({
      configure: (c) => {
        const studio = c.projects.find((p) => p.reference === 'studio-a')!;
        const backend = studio.backend as Extract<Config['projects'][number]['backend'], { kind: 'comfyui' }>;
        // 50 hosts, each its own host to the gateway (its own pool, probe and breaker), all served by one simulation.
        const hosts = Array.from({ length: HOSTS }, (_, i) => ({ ...backend.hosts[0]!, name: `h${String(i + 1).padStart(2, '0')}` }));
        const farm = { ...studio, reference: 'farm', aliases: [], backend: { ...backend, name: 'farm', hosts } };
        return {
          ...c,
          projects: [...c.projects, farm],
          server: { ...c.server, caller_rate_limit: { enabled: true, per_second: 0.01, burst: BUDGET } },
        };
      },
    });
    const sim = t.sandbox.simulations.find((s) => s.kind === 'comfyui')!;
    // Every request the simulation gets but the hosts' one-time probes of the jobs API.
    hostRequests = () => sim.server.requests.filter((r) => !r.path.endsWith('/api/jobs') || r.query !== undefined).length;
  });
  afterAll(async () => t?.close());
  afterEach(() => {
    vi.useRealTimers();
  });

  it('bounds the host requests of unknown-id reads by the budget, refuses past it before any host is asked, and serves another caller', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const greedy = await t.client({ token: await t.mint({ subject: 'fan-out-greedy' }) });
    const polite = await t.client({ token: await t.mint({ subject: 'fan-out-polite' }) });
    // Warm-up (outside the count): each host probes the jobs API once, charged to nobody in particular.
    await polite.callTool({ name: 'get_job_status', arguments: { project_reference: 'farm', job_id: randomUUID() } });
    const sim = t.sandbox.simulations.find((s) => s.kind === 'comfyui')!;
    const before = sim.server.requests.length;
    const answers: Record<string, unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await greedy.callTool({ name: 'get_job_status', arguments: { project_reference: 'farm', job_id: randomUUID() } });
      answers.push(r.structuredContent as Record<string, unknown>);
    }
    const sent = sim.server.requests.length - before;
    const served = answers.filter((a) => a.status === 'unknown').length;
    // The handshake took 2 of the 200; each read 1 + 49 for the other hosts.
    expect(served).toBe(Math.floor((BUDGET - 2) / HOSTS));
    expect(sent).toBe(served * HOSTS);
    expect(sent).toBeLessThanOrEqual(BUDGET);
    const refused = answers.filter((a) => a.status !== 'unknown');
    expect(refused.length).toBe(20 - served);
    for (const a of refused) expect(a).toMatchObject({ error: { code: 'RATE_LIMITED', retry_after_seconds: expect.any(Number) } });
    // The refusal that came from the fan-out says so (the others are the call's own budget).
    expect(refused.map((a) => (a.error as { message: string }).message).join('\n')).toMatch(/50 ComfyUI hosts/);
    // Another caller has its own budget.
    const other = await polite.callTool({ name: 'get_job_status', arguments: { project_reference: 'farm', job_id: randomUUID() } });
    expect((other.structuredContent as { status: string }).status).toBe('unknown');
    expect(hostRequests()).toBeGreaterThan(0);
  });

  it('charges a listing of the 50 hosts the same way', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const lister = await t.client({ token: await t.mint({ subject: 'fan-out-lister' }) });
    const sim = t.sandbox.simulations.find((s) => s.kind === 'comfyui')!;
    const before = sim.server.requests.length;
    const answers: Record<string, unknown>[] = [];
    for (let i = 0; i < 10; i++)
      answers.push(
        (await lister.callTool({ name: 'list_jobs', arguments: { project_reference: 'farm', limit: 5 } })).structuredContent as Record<
          string,
          unknown
        >,
      );
    const served = answers.filter((a) => Array.isArray(a.jobs)).length;
    expect(served).toBe(Math.floor((BUDGET - 2) / HOSTS));
    const sent = sim.server.requests.length - before;
    expect(sent).toBe(served * HOSTS);
    for (const a of answers.filter((x) => !Array.isArray(x.jobs))) expect(a).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });

  it('charges nothing extra when the host of a job is known: one call, one host request', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const known = t.sandbox.simulations.find((s) => s.kind === 'comfyui')!.seeds.succeeded[0]!;
    const reader = await t.client({ token: await t.mint({ subject: 'fan-out-reader' }) });
    // The first read finds the job (one fan-out: 50 points with the call); every later read asks only that host.
    expect(
      (await reader.callTool({ name: 'get_job_status', arguments: { project_reference: 'farm', job_id: known } })).structuredContent,
    ).toMatchObject({
      status: 'succeeded',
    });
    const statuses = [];
    for (let i = 0; i < 160; i++)
      statuses.push(
        (
          (await reader.callTool({ name: 'get_job_status', arguments: { project_reference: 'farm', job_id: known } }))
            .structuredContent as { status?: string }
        ).status,
      );
    // 200 - 2 (handshake) - 50 (the first read) = 148 more single-host reads.
    expect(statuses.filter((s) => s === 'succeeded').length).toBe(BUDGET - 2 - HOSTS);
  });
});
