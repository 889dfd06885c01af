import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/simulation/clock.ts';
import { startProjectRuntimeSim, type ProjectRuntimeSim } from '../../../../src/backends/project-runtime/simulation/server.ts';

const TOKEN = 'vf_test_token';
let clock: ManualClock;
let sim: ProjectRuntimeSim;

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startProjectRuntimeSim({ token: TOKEN, projects: ['dreamy-haven', 'second-site'], clock });
});
afterEach(async () => {
  await sim.close();
});

async function call(method: string, path: string, token: string | null = TOKEN) {
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}
const jobPath = (id: string, project = 'dreamy-haven') => `/projects/${project}/jobs/${id}`;
const listPath = (query: Record<string, string | number> = {}, project = 'dreamy-haven') =>
  `/projects/${project}/jobs?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`;

/** Follows `page_info.next` from `cursor` (default: the first page) to the end; every page answered. */
async function walk(query: Record<string, string | number>, cursor?: string) {
  const pages: Record<string, any>[] = [];
  for (let next = cursor; pages.length === 0 || next !== undefined;) {
    const res = await call('GET', listPath({ ...query, ...(next !== undefined ? { cursor: next } : {}) }));
    expect(res.status).toBe(200);
    pages.push(res.json!);
    next = res.json!.page_info.next ?? undefined;
    if (pages.length > 50) throw new Error('paging does not end');
  }
  return { pages, ids: pages.flatMap((p) => p.data.map((j: { id: string }) => j.id)) };
}

describe('project-runtime (Veryfront) simulation', () => {
  it('requires the bearer token', async () => {
    const id = sim.seeds.running[0]!;
    expect((await call('GET', jobPath(id), null)).status).toBe(401);
    expect((await call('GET', jobPath(id), 'vf_wrong')).status).toBe(401);
  });

  it('answers the Job object with the fields of the SDK schema', async () => {
    const res = await call('GET', jobPath(sim.seeds.running[0]!));
    expect(res.status).toBe(200);
    for (const k of [
      'id',
      'project_id',
      'environment_id',
      'branch_id',
      'cron_job_id',
      'batch_id',
      'name',
      'status',
      'target',
      'config',
      'context_id',
      'timeout_seconds',
      'backoff_limit',
      'exit_code',
      'failed_reason',
      'started_at',
      'completed_at',
      'created_by',
      'created_at',
      'updated_at',
      'kind',
      'failure_detail',
      'result_summary',
      'result',
    ])
      expect(res.json).toHaveProperty(k);
    expect(res.json?.status).toBe('working');
    expect(res.json?.project_id).toBe(sim.projectIds.get('dreamy-haven'));
  });

  it('accepts the project id as well as the slug', async () => {
    const pid = sim.projectIds.get('dreamy-haven')!;
    expect((await call('GET', jobPath(sim.seeds.queued[0]!, pid))).status).toBe(200);
  });

  it('seeds every state with the Veryfront words', async () => {
    const expected = {
      queued: 'submitted',
      running: 'working',
      long_running: 'working',
      succeeded: 'completed',
      failed: 'failed',
      cancelled: 'canceled',
    } as const;
    for (const [state, word] of Object.entries(expected)) {
      for (const id of sim.seeds[state as keyof typeof expected]) expect((await call('GET', jobPath(id))).json?.status).toBe(word);
    }
  });

  it("answers 404 for unknown ids, other projects' jobs and unknown projects; 400 for a non-UUID id", async () => {
    expect((await call('GET', jobPath('00000000-0000-4000-8000-000000000000'))).status).toBe(404);
    const elsewhere = sim.addJob({ project: 'second-site', status: 'working' });
    expect((await call('GET', jobPath(elsewhere, 'second-site'))).status).toBe(200);
    expect((await call('GET', jobPath(elsewhere))).status).toBe(404);
    expect((await call('GET', jobPath(sim.seeds.running[0]!, 'no-such-project'))).status).toBe(404);
    const bad = await call('GET', jobPath('job123'));
    expect(bad.status).toBe(400);
    expect(bad.json?.error?.message).toMatch(/UUID/);
  });

  it('answers 403 when the token has no access to an existing project', async () => {
    const id = sim.addJob({ project: 'someone-elses', status: 'working' });
    const res = await call('GET', jobPath(id, 'someone-elses'));
    expect(res.status).toBe(403);
  });

  it('cancels a submitted job at once', async () => {
    const id = sim.seeds.queued[0]!;
    const res = await call('POST', `${jobPath(id)}/cancel`);
    expect(res.status).toBe(200);
    expect(res.json?.status).toBe('canceled');
    expect(res.json).toHaveProperty('canonical_run_id');
  });

  it('stops a working job cooperatively: the answer still says working, canceled a few seconds later', async () => {
    const id = sim.seeds.running[0]!;
    const res = await call('POST', `${jobPath(id)}/cancel`);
    expect(res.status).toBe(200);
    expect(res.json?.status).toBe('working');
    // A second cancel while stopping answers the job again.
    expect((await call('POST', `${jobPath(id)}/cancel`)).json?.status).toBe('working');
    clock.advance(6_000);
    const after = await call('GET', jobPath(id));
    expect(after.json?.status).toBe('canceled');
    expect(after.json?.completed_at).not.toBeNull();
  });

  it('lets a run that finishes before the stop stay completed', async () => {
    const id = sim.addJob({ status: 'working', runsForMs: 2_000 });
    expect((await call('POST', `${jobPath(id)}/cancel`)).json?.status).toBe('working');
    clock.advance(10_000);
    expect((await call('GET', jobPath(id))).json?.status).toBe('completed');
  });

  it('answers 409 for cancelling a finished job', async () => {
    for (const id of [sim.seeds.succeeded[0]!, sim.seeds.failed[0]!, sim.seeds.cancelled[0]!]) {
      const res = await call('POST', `${jobPath(id)}/cancel`);
      expect(res.status).toBe(409);
      expect(res.json?.error?.code).toBe('conflict');
    }
  });

  it('reports failure details and result summaries', async () => {
    const failed = (await call('GET', jobPath(sim.seeds.failed[0]!))).json!;
    expect(failed.failed_reason).toBeTruthy();
    expect(typeof failed.failure_detail).toBe('string');
    expect(failed.exit_code).toBe(1);
    const partial = sim.addJob({ status: 'completed', resultState: 'partial_success' });
    const rec = (await call('GET', jobPath(partial))).json!;
    expect(rec.status).toBe('completed');
    expect(rec.result_summary.state).toBe('partial_success');
  });

  it('moves submitted -> working -> completed with the clock', async () => {
    const id = sim.addJob({ status: 'submitted', startsInMs: 1_000, runsForMs: 5_000 });
    clock.advance(1_000);
    const working = (await call('GET', jobPath(id))).json!;
    expect(working.status).toBe('working');
    expect(working.started_at).not.toBeNull();
    clock.advance(5_000);
    expect((await call('GET', jobPath(id))).json?.status).toBe('completed');
  });

  describe('list', () => {
    const allSeeds = () => Object.values(sim.seeds).flat();

    it('pages through every job of the project once, newest first, ending with next null', async () => {
      sim.addJob({ project: 'second-site', status: 'working' });
      const { pages, ids } = await walk({ limit: 2 });
      expect(pages.map((p) => p.data.length)).toEqual([2, 2, 2, 1]);
      // Newest first; four seeds share a created_at, and those come by id, descending.
      const createdAt = (id: string) => sim.job(id)!.record.created_at as string;
      const newestFirst = allSeeds().toSorted((a, b) => createdAt(b).localeCompare(createdAt(a)) || b.localeCompare(a));
      expect(new Set(newestFirst.map(createdAt)).size).toBeLessThan(newestFirst.length);
      expect(ids).toEqual(newestFirst);
      expect(pages[0]!.page_info).toMatchObject({ self: null, first: null, prev: null });
      expect(pages[1]!.page_info.self).toBe(pages[0]!.page_info.next);
      expect(pages.at(-1)!.page_info.next).toBeNull();
    });

    it('answers list items: the Job without config and result', async () => {
      const item = (await call('GET', listPath())).json!.data.find((j: { id: string }) => j.id === sim.seeds.succeeded[0]);
      expect(item).toMatchObject({ id: sim.seeds.succeeded[0], status: 'completed', project_id: sim.projectIds.get('dreamy-haven') });
      expect(item.result_summary.state).toBe('success');
      expect(item).not.toHaveProperty('config');
      expect(item).not.toHaveProperty('result');
    });

    it('defaults to 20 jobs a page', async () => {
      for (let i = 0; i < 20; i++) sim.addJob({ status: 'completed' });
      const first = (await call('GET', listPath())).json!;
      expect(first.data).toHaveLength(20);
      expect((await walk({})).ids).toHaveLength(27);
    });

    it('keeps later pages steady when a job is created after the first page', async () => {
      const before = (await walk({ limit: 2 })).ids;
      const first = (await call('GET', listPath({ limit: 2 }))).json!;
      clock.advance(60_000);
      const added = sim.addJob({ status: 'submitted' });
      const rest = (await walk({ limit: 2 }, first.page_info.next)).ids;
      expect([...first.data.map((j: { id: string }) => j.id), ...rest]).toEqual(before);
      expect(rest).not.toContain(added);
      // A new walk starts with it.
      expect((await call('GET', listPath({ limit: 2 }))).json!.data[0].id).toBe(added);
    });

    it('filters by one status word, derived from the clock, with paging', async () => {
      const working = await walk({ status: 'working', limit: 1 });
      expect(working.ids.toSorted()).toEqual([...sim.seeds.running, ...sim.seeds.long_running].toSorted());
      expect(working.pages.flatMap((p) => p.data.map((j: { status: string }) => j.status))).toEqual(['working', 'working']);
      const id = sim.addJob({ status: 'submitted', startsInMs: 1_000 });
      expect((await walk({ status: 'submitted' })).ids).toContain(id);
      clock.advance(1_000);
      expect((await walk({ status: 'submitted' })).ids).not.toContain(id);
      expect((await walk({ status: 'working' })).ids).toContain(id);
    });

    it('filters by cron_job_id, environment_id and batch_id (null on every simulated job)', async () => {
      for (const name of ['cron_job_id', 'environment_id', 'batch_id']) {
        const res = await call('GET', listPath({ [name]: '00000000-0000-4000-8000-000000000000' }));
        expect(res.status).toBe(200);
        expect(res.json!.data).toEqual([]);
        expect(res.json!.page_info.next).toBeNull();
      }
    });

    it('answers 400 validation_error for a bad limit, status or cursor', async () => {
      const valid = (await call('GET', listPath({ limit: 1 }))).json!.page_info.next as string;
      const bad: Record<string, string | number>[] = [
        { limit: 0 },
        { limit: 101 },
        { limit: 'ten' },
        { limit: 2.5 },
        { limit: '' },
        { status: 'running' },
        { status: 'cancelled' },
        { status: 'Working' },
        { status: 'submitted,working' },
        { status: '' },
        { cursor: 'not-a-cursor' },
        { cursor: '' },
        { cursor: `${valid}!` },
        { cursor: Buffer.from('[1,2]').toString('base64url') },
      ];
      for (const query of bad) {
        const res = await call('GET', listPath(query));
        expect(res.status, JSON.stringify(query)).toBe(400);
        expect(res.json?.error?.code).toBe('validation_error');
      }
      expect((await call('GET', listPath({ limit: 100 }))).status).toBe(200);
    });

    it('keeps the auth and project checks: 401, 403 for a project the token cannot access, 404 for an unknown one', async () => {
      sim.addJob({ project: 'someone-elses', status: 'working' });
      expect((await call('GET', listPath({}), null)).status).toBe(401);
      expect((await call('GET', listPath({}, 'someone-elses'))).status).toBe(403);
      expect((await call('GET', listPath({}, 'no-such-project'))).status).toBe(404);
      expect((await call('GET', listPath({}, sim.projectIds.get('second-site')))).json!.data).toEqual([]);
    });
  });
});
