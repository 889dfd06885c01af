// list_jobs through the TypeScript SDK clients of both eras against the sandbox: paging through every
// kind of backend, newest first, each job once; status filters; a job created between pages; a
// ComfyUI host that is down named in the answer; cursors that belong to another listing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { SEED_STATES } from '../../src/simulation/simulation.ts';

type Era = 'modern' | 'legacy';
interface Listed {
  job_id: string;
  status: string;
  created_at?: string;
  host?: string;
  name?: string;
  details?: Record<string, unknown>;
}
interface Page {
  jobs: Listed[];
  next_cursor: string | null;
  unavailable_hosts?: { host: string; error: { code: string; message: string } }[];
}

// Every project of the sandbox config (one of every backend kind: test/config/load.test.ts checks
// that) whose API can list; fal's and RunPod's have no list route.
const SANDBOX = loadConfigFile('config/sandbox.yaml').projects;
const CANNOT_LIST = SANDBOX.filter(
  (p) => p.backend.kind === 'http_jobs' && (p.backend.profile === 'fal' || p.backend.profile === 'runpod'),
).map((p) => p.reference);
const PROJECTS = SANDBOX.map((p) => p.reference).filter((p) => !CANNOT_LIST.includes(p));

describe.each(['modern', 'legacy'] as Era[])('list_jobs (%s era)', (era) => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => t?.close());

  async function call(args: Record<string, unknown>) {
    if (era === 'modern') return (await t.modernClient()).callTool({ name: 'list_jobs', arguments: args });
    return (await t.client()).callTool({ name: 'list_jobs', arguments: args });
  }

  async function page(args: Record<string, unknown>): Promise<Page> {
    const r = await call(args);
    expect(r.isError, JSON.stringify(r.structuredContent)).toBeFalsy();
    return r.structuredContent as Page;
  }

  /** Every page of a listing, following next_cursor. */
  async function walk(args: Record<string, unknown>, between?: (pageNumber: number) => void): Promise<Page[]> {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const p = await page({ ...args, ...(cursor ? { cursor } : {}) });
      pages.push(p);
      cursor = p.next_cursor;
      between?.(pages.length);
    } while (cursor && pages.length < 50);
    expect(cursor, 'the listing ends').toBeNull();
    return pages;
  }

  const seededIds = (project: string) => SEED_STATES.flatMap((s) => t.sandbox.seedsByProject.get(project)![s]);

  it.each(PROJECTS)('pages through every job of %s once, newest first, at most limit per page', async (project) => {
    const pages = await walk({ project_reference: project, limit: 3 });
    const jobs = pages.flatMap((p) => p.jobs);
    for (const p of pages) expect(p.jobs.length).toBeLessThanOrEqual(3);
    expect(pages.length).toBeGreaterThan(2);
    const ids = jobs.map((j) => j.job_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(seededIds(project)));
    // Newest first among jobs with a creation time (ComfyUI lists a legacy host's queue, which has none, first).
    const times = jobs.filter((j) => j.created_at).map((j) => Date.parse(j.created_at!));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    if (project === 'studio-a') {
      expect(new Set(jobs.map((j) => j.host))).toEqual(new Set(['gpu1', 'gpu2', 'gpu3-legacy']));
    }
  });

  it.each(CANNOT_LIST)('says %s cannot list its jobs, in a sentence a model can act on', async (project) => {
    const r = await call({ project_reference: project });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({
      error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cannot list its jobs.*get_job_status/) },
    });
  });

  it('answers with the same status as get_job_status and carries name and details', async () => {
    const jobs = (await walk({ project_reference: 'site-x', limit: 50 })).flatMap((p) => p.jobs);
    const client = era === 'modern' ? await t.modernClient() : await t.client();
    for (const job of jobs.slice(0, 3)) {
      const r = await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'site-x', job_id: job.job_id } });
      expect(r.structuredContent).toMatchObject({ status: job.status, name: job.name, details: job.details });
    }
    expect(jobs.find((j) => j.name === 'Full re-index')).toMatchObject({ status: 'running', details: { target: 'task:knowledge-ingest' } });
    const failed = jobs.find((j) => j.status === 'failed')!;
    expect(failed.details).toMatchObject({ exit_code: 1, failed_reason: 'BackoffLimitExceeded' });
  });

  it.each(PROJECTS)('filters %s by status, one word or several, with paging', async (project) => {
    const all = (await walk({ project_reference: project, limit: 100 })).flatMap((p) => p.jobs);
    for (const status of [['queued', 'running'], 'failed'] as const) {
      const wanted = new Set<string>(typeof status === 'string' ? [status] : status);
      const jobs = (await walk({ project_reference: project, status, limit: 2 })).flatMap((p) => p.jobs);
      expect(jobs.every((j) => wanted.has(j.status))).toBe(true);
      expect(jobs.map((j) => j.job_id).sort()).toEqual(
        all
          .filter((j) => wanted.has(j.status))
          .map((j) => j.job_id)
          .sort(),
      );
    }
  });

  it('lists a job created between two pages neither on a later page nor twice', async () => {
    const agents = t.sandbox.simulations.find((s) => s.kind === 'agent_jobs') as unknown as {
      addJob(spec: Record<string, unknown>): string;
    };
    let added: string | undefined;
    const pages = await walk({ project_reference: 'agents', limit: 2 }, (n) => {
      if (n !== 1) return;
      t.clock.advance(120_000); // the simulation dates a new job a minute back: after every seeded one
      added = agents.addJob({ status: 'WAITING', startsInMs: 60_000 });
    });
    const ids = pages.flatMap((p) => p.jobs.map((j) => j.job_id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain(added);
    expect(ids).toEqual(expect.arrayContaining(seededIds('agents')));
    // A new listing starts with it.
    expect((await page({ project_reference: 'agents', limit: 1 })).jobs[0]!.job_id).toBe(added);
  });

  it('refuses a cursor from another listing and a damaged one, and a limit over 100', async () => {
    const first = await page({ project_reference: 'agents', limit: 1 });
    for (const args of [
      { project_reference: 'site-x', cursor: first.next_cursor },
      { project_reference: 'agents', status: 'queued', cursor: first.next_cursor },
      { project_reference: 'agents', cursor: 'not-a-cursor' },
      { project_reference: 'agents', limit: 101 },
      { project_reference: 'agents', status: 'done' },
    ]) {
      const r = await call(args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(r.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    }
  });
});

describe('list_jobs with a ComfyUI host down', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => t?.close());

  it('names the host that cannot answer and lists the others', async () => {
    const legacy = t.sandbox.simulations.find((s) => s.kind === 'comfyui_legacy')!;
    await legacy.close();
    const client = await t.client();
    const r = await client.callTool({ name: 'list_jobs', arguments: { project_reference: 'studio-a', limit: 100 } });
    expect(r.isError).toBeFalsy();
    const body = r.structuredContent as Page;
    expect(body.unavailable_hosts).toEqual([{ host: 'gpu3-legacy', error: expect.objectContaining({ code: 'BACKEND_UNAVAILABLE' }) }]);
    expect(new Set(body.jobs.map((j) => j.host))).toEqual(new Set(['gpu1', 'gpu2']));
    expect(body.next_cursor).toBeNull();
    // Operators see partial listings in the metrics.
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/mcp_job_gateway_tool_calls_total\{[^}]*tool="list_jobs"[^}]*outcome="listed_partially"[^}]*\} 1/);
  });
});
