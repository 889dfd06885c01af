import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/sandbox/clock.ts';
import { startProjectRuntimeSim, type ProjectRuntimeSim } from '../../src/sandbox/project-runtime.ts';

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
      'id', 'project_id', 'environment_id', 'branch_id', 'cron_job_id', 'batch_id', 'name', 'status', 'target', 'config', 'context_id',
      'timeout_seconds', 'backoff_limit', 'exit_code', 'failed_reason', 'started_at', 'completed_at', 'created_by', 'created_at',
      'updated_at', 'kind', 'failure_detail', 'result_summary', 'result',
    ]) expect(res.json).toHaveProperty(k);
    expect(res.json?.status).toBe('working');
    expect(res.json?.project_id).toBe(sim.projectIds.get('dreamy-haven'));
  });

  it('accepts the project id as well as the slug', async () => {
    const pid = sim.projectIds.get('dreamy-haven')!;
    expect((await call('GET', jobPath(sim.seeds.queued[0]!, pid))).status).toBe(200);
  });

  it('seeds every state with the Veryfront words', async () => {
    const expected = { queued: 'submitted', running: 'working', long_running: 'working', succeeded: 'completed', failed: 'failed', cancelled: 'canceled' } as const;
    for (const [state, word] of Object.entries(expected)) {
      for (const id of sim.seeds[state as keyof typeof expected]) expect((await call('GET', jobPath(id))).json?.status).toBe(word);
    }
  });

  it('answers 404 for unknown ids, other projects\' jobs and unknown projects; 400 for a non-UUID id', async () => {
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
});
