// The gateway's lifecycle: a graceful stop lets in-flight calls finish, and two gateways run side by
// side in one process without sharing state.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

describe('gateway lifecycle', () => {
  const started: TestGateway[] = [];
  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((t) => t.close()));
  });

  it('finishes an in-flight call during a graceful stop, while readiness turns false and new connections are refused', async () => {
    const t = await startTestGateway();
    started.push(t);
    const client = await t.client();
    const runtime = t.sandbox.simulations.find((s) => s.kind === 'project_runtime')!;
    runtime.server.setFault({ kind: 'delay', ms: 1500 });
    const call = client.callTool({ name: 'get_job_status', arguments: { project_reference: 'site-x', job_id: t.sandbox.seedsByProject.get('site-x')!.succeeded[0]! } });
    await expect.poll(() => runtime.server.openRequests()).toBe(1);
    const stopping = t.gateway.close({ graceMs: 10_000 });
    await expect.poll(async () => (await fetch(`${t.adminUrl}/readyz`).catch(() => undefined))?.status ?? 0).toBe(503);
    await expect(fetch(t.mcpUrl, { method: 'POST' })).rejects.toThrow(); // no new connections
    expect((await call).structuredContent).toMatchObject({ status: 'succeeded' });
    await stopping;
  });

  it('gives up waiting after the grace period', async () => {
    const t = await startTestGateway();
    started.push(t);
    const client = await t.client();
    const runtime = t.sandbox.simulations.find((s) => s.kind === 'project_runtime')!;
    runtime.server.setFault({ kind: 'hang' });
    void client.callTool({ name: 'get_job_status', arguments: { project_reference: 'site-x', job_id: t.sandbox.seedsByProject.get('site-x')!.succeeded[0]! } }).catch(() => {});
    await expect.poll(() => runtime.server.openRequests()).toBe(1);
    await t.gateway.close({ graceMs: 200 }); // resolves although the call never finished
    // The cut-off backend call was aborted, not left hanging until its own timeout.
    await expect.poll(() => runtime.server.openRequests()).toBe(0);
  });

  it('runs two gateways in one process with separate metrics and sessions', async () => {
    const a = await startTestGateway();
    const b = await startTestGateway();
    started.push(a, b);
    const client = await a.client();
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'nope', job_id: 'x' } });
    const metrics = async (t: TestGateway) => (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(await metrics(a)).toContain('outcome="UNKNOWN_PROJECT"');
    expect(await metrics(b)).not.toContain('outcome="UNKNOWN_PROJECT"');
  });
});
