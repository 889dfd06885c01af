import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentJobsBackend } from '../../../src/backends/agent-jobs/profile.ts';
import type { AgentJobsBackendConfig } from '../../../src/backends/agent-jobs/config.ts';
import type { JobBackend } from '../../../src/jobs/backend.ts';
import { agentJobsDetailsSchema } from '../../../src/backends/agent-jobs/details.ts';
import { MAX_DETAIL_CHARS } from '../../../src/jobs/details.ts';
import {
  startAgentJobsSim,
  type AgentJobSpec,
  type AgentJobStatus,
  type AgentJobsSim,
} from '../../../src/backends/agent-jobs/simulation/server.ts';
import { ManualClock } from '../../../src/simulation/clock.ts';
import { createMemoryStore } from '../../../src/state/memory-store.ts';
import { TickingClock, errorCode, ctx } from '../../helpers/backend-calls.ts';
import { expectEachOnceNewestFirst, expectFailure, listAll, listQuery } from '../../helpers/list-calls.ts';

const KEY = 'aj-key';

let clock: ManualClock;
let sim: AgentJobsSim;
const backends: JobBackend[] = [];

function backend(overrides: Partial<AgentJobsBackendConfig> = {}, timeoutMs = 2_000, target: { baseUrl: string } = sim): JobBackend {
  const config: AgentJobsBackendConfig = { kind: 'agent_jobs', base_url: target.baseUrl, api_key: KEY, org_id: 'acme', ...overrides };
  const b = createAgentJobsBackend(config, { name: 'agents', projectReference: 'agents', timeoutMs, state: createMemoryStore() });
  backends.push(b);
  return b;
}

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startAgentJobsSim({ apiKey: KEY, orgId: 'acme', clock, readOnlyApiKeys: ['ro-key'] });
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map(async (b) => b.close?.()));
  await sim.close();
});

describe('agent-jobs adapter: get_job_status', () => {
  it('maps every seeded state, keeping the raw word verbatim', async () => {
    const b = backend();
    const expectations: [string, string][] = [
      [sim.seeds.queued[0]!, 'queued'],
      [sim.seeds.queued[1]!, 'queued'],
      [sim.seeds.running[0]!, 'running'],
      [sim.seeds.long_running[0]!, 'running'],
      [sim.seeds.succeeded[0]!, 'succeeded'],
      [sim.seeds.failed[0]!, 'failed'],
      [sim.seeds.cancelled[0]!, 'cancelled'],
    ];
    for (const [id, status] of expectations) {
      const r = await b.getStatus(id, ctx());
      expect(r.found).toBe(true);
      expect(r.status).toBe(status);
      expect(r.raw_status).toBe(sim.job(id)!.record.job_status);
    }
    // Mixed case really reaches the adapter.
    expect((await b.getStatus(sim.seeds.queued[1]!, ctx())).raw_status).toBe('scheduled');
    expect((await b.getStatus(sim.seeds.running[0]!, ctx())).raw_status).toBe('RUNNING');
  });

  it('turns ISO and epoch timestamps into ISO strings and reports start and end times', async () => {
    const b = backend();
    const running = await b.getStatus(sim.seeds.running[0]!, ctx()); // epoch seconds
    expect(running.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(running.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(running.completed_at).toBeUndefined();
    const done = await b.getStatus(sim.seeds.succeeded[0]!, ctx()); // epoch ms
    expect(done.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(done.completed_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(Date.parse(done.completed_at!)).toBeGreaterThan(Date.parse(done.created_at!));
    const queued = await b.getStatus(sim.seeds.queued[0]!, ctx());
    expect(queued.started_at).toBeUndefined();
  });

  it('reports the failure text of a failed job', async () => {
    const r = await backend().getStatus(sim.seeds.failed[0]!, ctx());
    expect(r.error?.message).toMatch(/failed/i);
  });

  it('reads `status` when `job_status` is absent', async () => {
    const id = sim.addJob({ status: 'RUNNING', statusKey: 'status', statusCase: 'lower' });
    const r = await backend().getStatus(id, ctx());
    expect(r).toMatchObject({ found: true, status: 'running', raw_status: 'running' });
  });

  it('follows the job as the clock moves', async () => {
    const b = backend();
    const id = sim.addJob({ status: 'WAITING', startsInMs: 1_000, runsForMs: 1_000, ending: 'FAILED' });
    expect((await b.getStatus(id, ctx())).status).toBe('queued');
    clock.advance(1_000);
    expect((await b.getStatus(id, ctx())).status).toBe('running');
    clock.advance(1_000);
    expect((await b.getStatus(id, ctx())).status).toBe('failed');
  });

  it('sends the key, X-Client-Type: mcp and ?org_id=', async () => {
    await backend().getStatus(sim.seeds.running[0]!, ctx());
    const req = sim.server.requests.at(-1)!;
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers['x-client-type']).toBe('mcp');
    expect(req.query.get('org_id')).toBe('acme');
    expect(req.path).toBe(`/api/v0/services/agent-jobs/${sim.seeds.running[0]}`);
  });

  it('leaves out ?org_id= when none is configured', async () => {
    await backend({ org_id: undefined }).getStatus(sim.seeds.running[0]!, ctx());
    expect(sim.server.requests.at(-1)!.query.has('org_id')).toBe(false);
  });

  it("tells another organization's job from a key problem even when the 403 message says nothing", async () => {
    await sim.close();
    sim = await startAgentJobsSim({ apiKey: KEY, orgId: 'acme', clock, foreignJobMessage: 'Forbidden' });
    const foreign = sim.addJob({ orgId: 'globex', status: 'RUNNING' });
    expect((await backend().getStatus(foreign, ctx())).found).toBe(false);
    // The probe that decided it was a list read with the same key.
    expect(sim.server.requests.at(-1)!.path).toBe('/api/v0/services/agent-jobs');
  });

  it('answers BACKEND_AUTH for a wrong key and for an org the key cannot access', async () => {
    expect(await errorCode(backend({ api_key: 'wrong' }).getStatus(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
    expect(await errorCode(backend({ org_id: 'globex' }).getStatus(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
  });
});

describe('agent-jobs adapter: cancel_job', () => {
  it('cancels a running job: read, DELETE with the reason, read again; the reason arrives', async () => {
    const id = sim.seeds.running[0]!;
    const before = sim.server.requests.length;
    const r = await backend().cancel(id, { ...ctx(), reason: 'customer withdrew' });
    expect(r).toMatchObject({ outcome: 'cancelled', status_before: 'running', status_after: 'cancelled' });
    expect(sim.job(id)!.status).toBe('CANCELED');
    expect(sim.job(id)!.cancelReason).toBe('customer withdrew');
    const calls = sim.server.requests.slice(before).map((q) => q.method);
    expect(calls).toEqual(['GET', 'DELETE', 'GET']);
    const del = sim.server.requests.slice(before)[1]!;
    expect(JSON.parse(del.body)).toEqual({ reason: 'customer withdrew' });
    expect(del.headers['x-client-type']).toBe('mcp');
  });

  it('cancels queued jobs (waiting and scheduled)', async () => {
    const b = backend();
    for (const id of sim.seeds.queued) {
      expect(await b.cancel(id, ctx())).toMatchObject({ outcome: 'cancelled', status_before: 'queued', status_after: 'cancelled' });
    }
  });

  it('turns a 409 (the job finished between the read and the DELETE) into already_terminal', async () => {
    await sim.close();
    const ticking = new TickingClock(1_000);
    sim = await startAgentJobsSim({ apiKey: KEY, orgId: 'acme', clock: ticking, seed: false });
    // addJob reads the clock once (t0); the status read sees t0+1s, the DELETE t0+2s.
    const id = sim.addJob({ status: 'RUNNING', runsForMs: 1_500 });
    const r = await backend().cancel(id, ctx());
    expect(r).toMatchObject({ outcome: 'already_terminal', status_before: 'running', status_after: 'succeeded' });
    expect(sim.server.requests.map((q) => q.method)).toEqual(['GET', 'DELETE', 'GET']);
  });

  it('answers BACKEND_AUTH when the key may read but not cancel', async () => {
    const id = sim.seeds.running[0]!;
    const b = backend({ api_key: 'ro-key' });
    expect((await b.getStatus(id, ctx())).status).toBe('running');
    expect(await errorCode(b.cancel(id, ctx()))).toBe('BACKEND_AUTH');
    expect(sim.job(id)!.status).toBe('RUNNING');
  });

  it('answers BACKEND_AUTH for a wrong key', async () => {
    expect(await errorCode(backend({ api_key: 'wrong' }).cancel(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_AUTH');
  });
});

describe('agent-jobs adapter: ids and failures', () => {
  it('rejects hostile ids before any request', async () => {
    const b = backend();
    for (const id of ['', '../x', '..', '%2F', 'a/b', 'x?y=1', 'x#y', ' x', '-leading-dash', 'a'.repeat(10_000)]) {
      expect(b.validateJobId(id)).toMatch(/\.$/);
      expect(await errorCode(b.getStatus(id, ctx()))).toBe('INVALID_ARGUMENT');
      expect(await errorCode(b.cancel(id, ctx()))).toBe('INVALID_ARGUMENT');
    }
    expect(sim.server.requests).toHaveLength(0);
    expect(b.validateJobId('job123')).toBeNull();
    expect(b.validateJobId(sim.seeds.running[0]!)).toBeNull();
  });

  it('answers BACKEND_UNAVAILABLE for garbage, a wrong JSON shape and 5xx', async () => {
    const b = backend();
    const id = sim.seeds.running[0]!;
    sim.server.setFault({ kind: 'garbage' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'status', status: 200, body: '{"data":{"job_id":"x","result":null}}' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'status', status: 200, body: '[]' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    sim.server.setFault({ kind: 'status', status: 500, body: '{"message":"boom"}' });
    expect(await errorCode(b.getStatus(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
    expect(await errorCode(b.cancel(id, ctx()))).toBe('BACKEND_UNAVAILABLE');
  });

  it('answers RATE_LIMITED for 429 and BACKEND_REJECTED for another 4xx', async () => {
    const b = backend();
    sim.server.setFault({ kind: 'status', status: 429, body: '{"message":"slow down"}' });
    expect(await errorCode(b.getStatus('job123', ctx()))).toBe('RATE_LIMITED');
    sim.server.setFault({ kind: 'status', status: 400, body: '{"message":"Bad request"}' });
    expect(await errorCode(b.getStatus('job123', ctx()))).toBe('BACKEND_REJECTED');
  });

  it("honours the caller's abort signal", async () => {
    sim.server.setFault({ kind: 'hang' });
    const ac = new AbortController();
    const p = backend({}, 10_000).getStatus('job123', { signal: ac.signal });
    await expect.poll(() => sim.server.openRequests()).toBe(1); // the read hangs at the service
    ac.abort(new Error('caller went away'));
    await expect(p).rejects.toThrow(/caller went away/);
  });
});

// The rest of this (a read or a cancel answered about another job), unknown jobs, an unreachable or
// hanging service, cancel's idempotence, error bodies and credentials, and listing while jobs are
// created: the backend contract suite (test/backends/contract/).
describe('agent-jobs adapter: an answer about another job is never taken as this one', () => {
  it('checks the envelope too: a record without an id under meta naming another job is refused', async () => {
    sim.server.setFault({
      kind: 'status',
      status: 200,
      body: JSON.stringify({ data: { job_status: 'COMPLETED' }, meta: { id: 'job-of-someone-else' } }),
    });
    expect(await errorCode(backend().getStatus(sim.seeds.running[0]!, ctx()))).toBe('BACKEND_UNAVAILABLE');
  });
});

describe('agent-jobs adapter: list_jobs', () => {
  const HOUR = 3_600_000;

  /** A simulation without seeds, so each test knows every job there is. */
  async function emptySim(): Promise<void> {
    await sim.close();
    sim = await startAgentJobsSim({ apiKey: KEY, orgId: 'acme', clock, seed: false });
  }
  /** Jobs an hour apart, newest last; statuses cycle through `statuses`. States that do not move with the clock. */
  function addJobs(
    n: number,
    statuses: AgentJobStatus[] = ['WAITING', 'SCHEDULED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED'],
    spec: AgentJobSpec = {},
  ): string[] {
    return Array.from({ length: n }, (_, i) => {
      clock.advance(HOUR);
      return sim.addJob({
        status: statuses[i % statuses.length]!,
        startsInMs: 1_000 * HOUR,
        scheduledInMs: 1_000 * HOUR,
        runsForMs: null,
        ...spec,
      });
    });
  }
  const listRequests = () => sim.server.requests.filter((r) => r.path === '/api/v0/services/agent-jobs');

  it('pages through every job once, newest first, by passing `next` back as the position', async () => {
    await emptySim();
    const ids = addJobs(12);
    const { jobs, pages } = await listAll(backend(), { limit: 3 });
    expect(jobs.map((j) => j.job_id)).toEqual([...ids].reverse());
    expectEachOnceNewestFirst(jobs);
    // Four full pages and no empty fifth one: the last page says the listing is complete.
    expect(pages.map((p) => p.jobs.length)).toEqual([3, 3, 3, 3]);
    expect(jobs.every((j) => j.found && j.raw_status === sim.job(j.job_id)!.record.job_status)).toBe(true);
    expect(jobs.map((j) => j.status).slice(0, 6)).toEqual(['cancelled', 'failed', 'succeeded', 'running', 'queued', 'queued']);
    expect(listRequests().map((r) => Object.fromEntries(r.query))).toEqual(
      [0, 3, 6, 9].map((offset) => ({ org_id: 'acme', limit: '3', offset: String(offset), sort: 'created_at:desc' })),
    );
  });

  it('does not list a job twice when jobs created in the same second are pushed down between pages', async () => {
    // Epoch-second timestamps (as some agent jobs carry) make a burst of jobs look simultaneous.
    await emptySim();
    const ids = Array.from({ length: 6 }, () => {
      clock.advance(100);
      return sim.addJob({ status: 'COMPLETED', timeFormat: 'epoch_s' });
    });
    const { jobs } = await listAll(backend(), { limit: 3 }, () => {
      addJobs(2);
    });
    expect(jobs.map((j) => j.job_id)).toEqual([...ids].reverse());
  });

  it('sends a status that is one backend word to the service', async () => {
    await emptySim();
    const ids = addJobs(12);
    const b = backend();
    for (const [status, word] of [
      ['running', 'RUNNING'],
      ['succeeded', 'COMPLETED'],
      ['failed', 'FAILED'],
      ['cancelled', 'CANCELED'],
    ] as const) {
      const page = await b.list(listQuery({ statuses: [status] }));
      expect(listRequests().at(-1)!.query.get('status')).toBe(word);
      expect(listRequests().at(-1)!.query.get('limit')).toBe('20');
      expect(page.jobs.map((j) => j.job_id)).toEqual(ids.filter((id) => sim.job(id)!.status === word).reverse());
      expect(page.next).toBeUndefined();
    }
  });

  it('lists queued (WAITING and SCHEDULED) unfiltered and filters here, each job once across pages', async () => {
    await emptySim();
    const ids = addJobs(18);
    const queued = ids.filter((id) => ['WAITING', 'SCHEDULED'].includes(sim.job(id)!.status)).reverse();
    expect(queued).toHaveLength(6);
    const { jobs } = await listAll(backend(), { statuses: ['queued'], limit: 2 });
    expect(jobs.map((j) => j.job_id)).toEqual(queued);
    expect(new Set(jobs.map((j) => j.raw_status))).toEqual(new Set(['WAITING', 'SCHEDULED']));
    for (const r of listRequests()) {
      expect(r.query.has('status')).toBe(false);
      expect(r.query.get('limit')).toBe('100');
    }
  });

  it('filters several statuses here', async () => {
    await emptySim();
    const ids = addJobs(12);
    const page = await backend().list(listQuery({ statuses: ['succeeded', 'failed'] }));
    expect(page.jobs.map((j) => j.job_id)).toEqual(ids.filter((id) => ['COMPLETED', 'FAILED'].includes(sim.job(id)!.status)).reverse());
    expect(listRequests().at(-1)!.query.has('status')).toBe(false);
  });

  it("answers BACKEND_UNAVAILABLE for garbage, a wrong shape, an item without an id and 5xx, never with the backend's words", async () => {
    const b = backend();
    const MARK = 'BODY-WORD-4242';
    sim.server.setFault({ kind: 'garbage' });
    await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', ['<html', 'upstream proxy error']);
    for (const body of [
      JSON.stringify({ data: [{ job_status: 'RUNNING', result: MARK }], meta: { total: 1 } }), // no job_id
      JSON.stringify({ data: [{ job_id: MARK }] }), // no status
      JSON.stringify({ data: { job_id: MARK, job_status: 'RUNNING' } }), // one job, not a list
      JSON.stringify([{ job_id: MARK, job_status: 'RUNNING' }]), // no envelope
      JSON.stringify({ message: MARK }),
    ]) {
      sim.server.setFault({ kind: 'status', status: 200, body });
      await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', [MARK]);
    }
    sim.server.setFault({ kind: 'status', status: 500, body: `{"message":"db down at ${MARK}"}` });
    await expectFailure(b.list(listQuery()), 'BACKEND_UNAVAILABLE', [MARK, 'db down']);
  });

  it("answers BACKEND_AUTH for a 401 or 403, never with the backend's words", async () => {
    await expectFailure(backend({ api_key: 'wrong' }).list(listQuery()), 'BACKEND_AUTH', ['Unauthorized', 'API key']);
    await expectFailure(backend({ org_id: 'globex' }).list(listQuery()), 'BACKEND_AUTH', ['globex', 'Forbidden']);
    sim.server.setFault({ kind: 'status', status: 401, body: `invalid credential: Bearer ${KEY}` });
    await expectFailure(backend().list(listQuery()), 'BACKEND_AUTH', [KEY, 'invalid credential']);
  });

  it('answers INVALID_ARGUMENT for a position it did not give, before any request', async () => {
    const b = backend();
    for (const position of [
      'abc',
      42,
      null,
      [],
      {},
      { offset: -1 },
      { offset: 1.5 },
      { offset: '3' },
      { offset: 3, extra: true },
      { offset: 3, last: { id: 'x' } },
      { offset: 1e12 },
      { cursor: 'x', skip: 0 },
    ]) {
      const e = await expectFailure(b.list(listQuery({ position })), 'INVALID_ARGUMENT');
      expect(e.message).toMatch(/cursor/);
    }
    expect(sim.server.requests).toHaveLength(0);
  });

  it('gives each listed job its details, no name, and nothing outside the schema', async () => {
    const { jobs } = await listAll(backend());
    expect(jobs).toHaveLength(7);
    for (const j of jobs) {
      expect(j).not.toHaveProperty('name');
      expect(agentJobsDetailsSchema.parse(j.details)).toMatchObject({ job_type_id: 'follow-up', channel_code: 'C0123456' });
    }
  });
});

describe('agent-jobs adapter: name and details of status and cancel reports', () => {
  const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

  it('reports the job type, channel, times and task count, and no name', async () => {
    const r = await backend().getStatus(sim.seeds.running[0]!, ctx());
    expect(r).not.toHaveProperty('name');
    expect(agentJobsDetailsSchema.parse(r.details)).toEqual({
      job_type_id: 'follow-up',
      channel_code: 'C0123456',
      scheduled_at: expect.stringMatching(ISO),
      tasks_count: 1,
      last_task_created_at: expect.stringMatching(ISO),
    });
    // A waiting job has no task yet.
    const waiting = await backend().getStatus(sim.seeds.queued[0]!, ctx());
    expect(waiting.details).toEqual({
      job_type_id: 'follow-up',
      channel_code: 'C0123456',
      scheduled_at: expect.stringMatching(ISO),
      tasks_count: 0,
    });
  });

  it('cuts long strings at 200 characters', async () => {
    const id = sim.addJob({ status: 'RUNNING', jobTypeId: 'j'.repeat(500), channelCode: 'c'.repeat(201) });
    const r = await backend().getStatus(id, ctx());
    expect(agentJobsDetailsSchema.parse(r.details)).toMatchObject({
      job_type_id: 'j'.repeat(MAX_DETAIL_CHARS),
      channel_code: 'c'.repeat(MAX_DETAIL_CHARS),
    });
  });

  it("keeps at most 20 tags, each cut, and none of the record's other fields", async () => {
    const id = sim.seeds.running[0]!;
    const tags = [null, { a: 1 }, ...Array.from({ length: 30 }, (_, i) => `tag-${i}-${'x'.repeat(300)}`)];
    sim.server.setFault({
      kind: 'status',
      status: 200,
      body: JSON.stringify({
        data: {
          job_id: id,
          job_status: 'RUNNING',
          name: 'not a documented field',
          tags,
          tasks_count: 3,
          params: { secret: 's' },
          org_id: 'acme',
        },
      }),
    });
    const r = await backend().getStatus(id, ctx());
    expect(r).not.toHaveProperty('name');
    const details = agentJobsDetailsSchema.parse(r.details);
    expect(details.tags).toHaveLength(20);
    expect(details.tags![0]).toBe(`tag-0-${'x'.repeat(MAX_DETAIL_CHARS - 'tag-0-'.length)}`);
    expect(details.tags!.every((t) => t.length === MAX_DETAIL_CHARS)).toBe(true);
    expect(details.tasks_count).toBe(3);
  });

  it('leaves out a task count the schema cannot hold (negative or fractional)', async () => {
    const id = sim.seeds.running[0]!;
    const b = backend();
    for (const tasks_count of [-1, 2.5]) {
      sim.server.setFault({
        kind: 'status',
        status: 200,
        body: JSON.stringify({ data: { job_id: id, job_status: 'RUNNING', job_type_id: 'follow-up', tasks_count } }),
      });
      const r = await b.getStatus(id, ctx());
      expect(agentJobsDetailsSchema.safeParse(r.details).success, `tasks_count ${tasks_count}: ${JSON.stringify(r.details)}`).toBe(true);
      expect(r.details).toEqual({ job_type_id: 'follow-up' });
    }
  });

  it('carries the details on cancel reports: cancelled, already_terminal; none for not_found', async () => {
    const b = backend();
    const cancelled = await b.cancel(sim.seeds.running[0]!, ctx());
    expect(cancelled.outcome).toBe('cancelled');
    expect(cancelled).not.toHaveProperty('name');
    expect(agentJobsDetailsSchema.parse(cancelled.details)).toMatchObject({ job_type_id: 'follow-up', tasks_count: 1 });
    const done = await b.cancel(sim.seeds.succeeded[0]!, ctx());
    expect(done.outcome).toBe('already_terminal');
    expect(agentJobsDetailsSchema.parse(done.details)).toMatchObject({
      job_type_id: 'follow-up',
      channel_code: 'C0123456',
      tasks_count: 1,
    });
    const missing = await b.cancel('job123', ctx());
    expect(missing.outcome).toBe('not_found');
    expect(missing).not.toHaveProperty('name');
    expect(missing).not.toHaveProperty('details');
  });
});
