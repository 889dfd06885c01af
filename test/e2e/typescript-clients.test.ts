// The TypeScript SDK's own clients of both eras against the gateway: the v2 client pinned to
// 2026-07-28 (server/discover, the per-request envelope, no initialize) and the 1.x client
// (2025-11-25 initialize). Each lists the tools, reads a status, cancels a job, and meets the
// 403 step-up with a read-only token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, seed, type TestGateway } from '../helpers/gateway.ts';

type Era = 'modern' | 'legacy';

describe.each(['modern', 'legacy'] as Era[])('the TypeScript SDK client (%s era)', (era) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => t?.close());

  const connect = (token?: string) => (era === 'modern' ? t.modernClient(token ? { token } : {}) : t.client(token ? { token } : {}));

  it('negotiates its era', async () => {
    const client = await connect();
    if (era === 'modern')
      expect((client as Awaited<ReturnType<TestGateway['modernClient']>>).getNegotiatedProtocolVersion()).toBe('2026-07-28');
    else expect((client as Awaited<ReturnType<TestGateway['client']>>).getServerVersion()).toMatchObject({ name: 'mcp-job-gateway' });
  });

  it('lists both tools, reads a status and cancels a job', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((x) => x.name)).toEqual(['list_projects', 'get_job_status', 'cancel_job', 'list_jobs']);
    const status = await client.callTool({
      name: 'get_job_status',
      arguments: { project_reference: 'agents', job_id: seed(t, 'agents', 'running') },
    });
    expect(status.structuredContent).toMatchObject({ status: 'running', found: true, terminal: false });
    const job = seed(t, 'agents', 'queued');
    const cancel = await client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: job } });
    expect(cancel.structuredContent).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled' });
    const after = await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job } });
    expect(after.structuredContent).toMatchObject({ status: 'cancelled', terminal: true });
  });

  it('gets the 403 insufficient_scope step-up for cancel_job with a read-only token, and the job is untouched', async () => {
    const client = await connect(await t.mint({ scopes: ['jobs:read'] }));
    const job = seed(t, 'agents', 'running');
    await expect(client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: job } })).rejects.toThrow(
      /403|insufficient.scope|Forbidden/i,
    );
    const still = await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job } });
    expect(still.structuredContent).toMatchObject({ status: 'running' });
  });
});
