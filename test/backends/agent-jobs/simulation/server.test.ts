import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/simulation/clock.ts';
import { startAgentJobsSim, type AgentJobsSim } from '../../../../src/backends/agent-jobs/simulation/server.ts';

const KEY = 'test-key';
let clock: ManualClock;
let sim: AgentJobsSim;

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startAgentJobsSim({ apiKey: KEY, orgId: 'acme', clock, readOnlyApiKeys: ['read-only-key'] });
});
afterEach(async () => {
  await sim.close();
});

async function call(method: string, path: string, options: { key?: string | null; body?: string } = {}) {
  const headers: Record<string, string> = {};
  const key = options.key === undefined ? KEY : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
  const text = await res.text();
  return { status: res.status, text, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

const jobPath = (id: string) => `/services/agent-jobs/${id}`;

describe('agent-jobs simulation', () => {
  it('serves under the /api/v0 prefix and requires the bearer key', async () => {
    const id = sim.seeds.running[0]!;
    expect(sim.baseUrl).toMatch(/\/api\/v0$/);
    expect((await call('GET', jobPath(id), { key: null })).status).toBe(401);
    const wrong = await call('GET', jobPath(id), { key: 'nope' });
    expect(wrong.status).toBe(401);
    expect(typeof wrong.json?.message).toBe('string');
    expect((await call('GET', jobPath(id))).status).toBe(200);
  });

  it('answers {data: job, meta: {org_id, id}} with the documented fields', async () => {
    const id = sim.seeds.running[0]!;
    const res = await call('GET', jobPath(id));
    expect(res.json?.meta).toEqual({ org_id: 'acme', id });
    const job = res.json?.data;
    for (const k of ['job_id', 'org_id', 'job_status', 'result', 'created_at', 'updated_at', 'scheduled_at', 'tasks', 'params', 'config']) {
      expect(job).toHaveProperty(k);
    }
    expect(job.job_id).toBe(id);
  });

  it('seeds every state, with status case and time formats varying across jobs', async () => {
    const records = [];
    for (const ids of Object.values(sim.seeds)) for (const id of ids) records.push((await call('GET', jobPath(id))).json?.data);
    const words = records.map((r) => r.job_status as string);
    expect(words.some((w) => w === w.toUpperCase())).toBe(true);
    expect(words.some((w) => w === w.toLowerCase())).toBe(true);
    expect(new Set(words.map((w) => w.toUpperCase()))).toEqual(
      new Set(['WAITING', 'SCHEDULED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED']),
    );
    const times = records.map((r) => r.created_at);
    expect(times.some((t) => typeof t === 'string')).toBe(true);
    expect(times.some((t) => typeof t === 'number')).toBe(true);
  });

  it('moves a job through its timeline as the clock advances (scheduled -> waiting -> running -> completed)', async () => {
    const id = sim.addJob({ status: 'SCHEDULED', scheduledInMs: 60_000, startsInMs: 30_000, runsForMs: 120_000 });
    const statusNow = async () => (await call('GET', jobPath(id))).json?.data.job_status;
    const rec = (await call('GET', jobPath(id))).json?.data;
    expect(rec.job_status).toBe('SCHEDULED');
    expect(Date.parse(rec.scheduled_at)).toBeGreaterThan(clock.now());
    clock.advance(61_000);
    expect(await statusNow()).toBe('WAITING');
    clock.advance(30_000);
    expect(await statusNow()).toBe('RUNNING');
    clock.advance(120_000);
    expect(await statusNow()).toBe('COMPLETED');
  });

  it("answers 404 for an unknown job and 403 for another organization's job", async () => {
    const unknown = await call('GET', jobPath('job123'));
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ message: 'Job not found' });
    const foreign = sim.addJob({ orgId: 'globex' });
    const res = await call('GET', jobPath(foreign));
    expect(res.status).toBe(403);
    expect(res.json?.message).toMatch(/different organization/);
    expect((await call('DELETE', jobPath(foreign))).status).toBe(403);
  });

  it('checks ?org_id= against the key', async () => {
    const id = sim.seeds.queued[0]!;
    expect((await call('GET', `${jobPath(id)}?org_id=acme`)).status).toBe(200);
    const other = await call('GET', `${jobPath(id)}?org_id=globex`);
    expect(other.status).toBe(403);
    expect(other.json?.message).not.toMatch(/different organization/);
  });

  it('cancels with DELETE: {meta, message} without a job record, status CANCELED, reason kept', async () => {
    const id = sim.seeds.running[0]!;
    const res = await call('DELETE', jobPath(id), { body: JSON.stringify({ reason: 'user asked' }) });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ meta: { org_id: 'acme', job_id: id }, message: `Job with ID '${id}' successfully canceled` });
    expect(res.json).not.toHaveProperty('data');
    expect(sim.job(id)?.status).toBe('CANCELED');
    expect(sim.job(id)?.cancelReason).toBe('user asked');
    // The record keeps its spelling (upper for this seed).
    expect((await call('GET', jobPath(id))).json?.data.job_status).toBe('CANCELED');
  });

  it('is not idempotent: cancelling a terminal job answers 409', async () => {
    const id = sim.seeds.queued[0]!;
    expect((await call('DELETE', jobPath(id))).status).toBe(200);
    const again = await call('DELETE', jobPath(id));
    expect(again.status).toBe(409);
    expect(typeof again.json?.message).toBe('string');
    expect((await call('DELETE', jobPath(sim.seeds.succeeded[0]!))).status).toBe(409);
    expect((await call('DELETE', jobPath(sim.seeds.failed[0]!))).status).toBe(409);
  });

  it('cancels a job without a body, and rejects a body that is not JSON', async () => {
    const id = sim.addJob({ status: 'RUNNING' });
    expect((await call('DELETE', jobPath(id), { body: '{not json' })).status).toBe(400);
    expect((await call('DELETE', jobPath(id))).status).toBe(200);
    expect(sim.job(id)?.cancelReason).toBeUndefined();
  });

  it('lets a read-only key read but not cancel', async () => {
    const id = sim.seeds.running[0]!;
    expect((await call('GET', jobPath(id), { key: 'read-only-key' })).status).toBe(200);
    const res = await call('DELETE', jobPath(id), { key: 'read-only-key' });
    expect(res.status).toBe(403);
    expect(res.json?.message).toMatch(/WRITE/);
    expect(sim.job(id)?.status).toBe('RUNNING');
  });

  it("lists only the key organization's jobs", async () => {
    sim.addJob({ orgId: 'globex' });
    const res = await call('GET', '/services/agent-jobs?limit=100');
    expect(res.status).toBe(200);
    expect(res.json?.data.every((j: any) => j.org_id === 'acme')).toBe(true);
    expect(res.json?.meta).toMatchObject({ org_id: 'acme', limit: 100, offset: 0, total: 7 });
    const running = await call('GET', '/services/agent-jobs?status=running');
    expect(running.json?.data.length).toBe(2);
  });

  it('can render the status under `status` instead of `job_status`', async () => {
    const id = sim.addJob({ status: 'RUNNING', statusKey: 'status', statusCase: 'lower' });
    const job = (await call('GET', jobPath(id))).json?.data;
    expect(job.status).toBe('running');
    expect(job).not.toHaveProperty('job_status');
  });
});
