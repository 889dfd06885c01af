// list_jobs through the official MCP Python SDK client (PyPI `mcp`, pinned in scripts/tools/install.ts), in
// both protocol eras (`modern` pins 2026-07-28, `legacy` the 2025 initialize handshake): paging with a
// small limit through every kind of backend, unfiltered and with status filters, checked against the
// jobs the sandbox's simulations hold. The client is test/e2e/python/list_client.py: one process per
// era walks every project and prints one JSON report. The sandbox clock is manual and never moved
// here, so the simulations hold the same jobs in the same states throughout.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComfyuiSim } from '../../src/backends/comfyui/simulation/server.ts';
import type { ComfycontrolSim } from '../../src/backends/comfycontrol/simulation/server.ts';
import { SEED_STATES } from '../../src/simulation/simulation.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ensurePythonMcp, REPO_ROOT } from '../../scripts/tools/install.ts';
import { expectMatchesOutputSchema } from '../helpers/result-schemas.ts';

const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'python', 'list_client.py');
// Small, so every listing but two pages, filtered ones too.
const LIMIT = 2;
const PROJECTS = ['studio-a', 'agents', 'site-x', 'cloud-renders'] as const;
type Project = (typeof PROJECTS)[number];
const KIND: Record<Project, string> = {
  'studio-a': 'comfyui',
  agents: 'agent_jobs',
  'site-x': 'project_runtime',
  'cloud-renders': 'comfycontrol',
};
// Both forms of the argument: several statuses, and one word.
const FILTERS = [['queued', 'running'], 'failed'] as const;

type Mode = 'modern' | 'legacy';
interface Job {
  job_id: string;
  status: string;
  created_at?: string;
  started_at?: string;
  completed_at?: string;
  host?: string;
}
interface Page {
  project_reference: string;
  backend: { name: string; kind: string };
  jobs: Job[];
  next_cursor: string | null;
  unavailable_hosts?: unknown[];
}
interface Listing {
  project: string;
  status: string | string[] | null;
  pages: Page[];
  error?: unknown;
}
interface Report {
  mode: Mode;
  protocol_version: string | null;
  rpc_methods: string[];
  tools?: string[];
  listings: Listing[];
  connect_error?: { type: string; message: string };
}

let python: string;
let t: TestGateway;
const reports = new Map<Mode, Report>();

// One gateway for both eras: listing changes nothing, so both processes run at once.
beforeAll(async () => {
  python = await ensurePythonMcp(); // cold: python3 -m venv + pip install, ~15 s here
  t = await startTestGateway();
  const args = (mode: Mode) => [
    SCRIPT,
    t.mcpUrl,
    t.token!,
    mode,
    String(LIMIT),
    ...PROJECTS,
    ...FILTERS.flatMap((f) => ['--status', JSON.stringify(f)]),
  ];
  await Promise.all(
    (['legacy', 'modern'] as const).map(async (mode) => {
      const { stdout } = await promisify(execFile)(python, args(mode), { timeout: 120_000 });
      reports.set(mode, JSON.parse(stdout) as Report);
    }),
  );
}, 300_000);
afterAll(async () => t?.close());

/** Job id → the host that holds it, for ComfyUI (its three hosts together); else the ids with no host. */
function heldBy(project: Project): Map<string, string | undefined> {
  const sims = t.sandbox.simulations;
  const held = new Map<string, string | undefined>();
  if (project === 'studio-a') {
    // The host names of the project's config, by the port of the simulation behind each.
    const config = t.sandbox.config.projects.find((p) => p.reference === project)!.backend;
    if (config.kind !== 'comfyui') throw new Error('studio-a is not a ComfyUI project');
    const hostOfPort = new Map(config.hosts.map((h) => [Number(new URL(h.url).port), h.name]));
    for (const sim of sims.filter((s): s is ComfyuiSim => s.kind === 'comfyui' || s.kind === 'comfyui_legacy')) {
      const host = hostOfPort.get(sim.server.port);
      if (!host) throw new Error(`no studio-a host points at the simulation on port ${sim.server.port}`);
      const { running, pending } = sim.queue();
      for (const id of [...running, ...pending].map((item) => item[1]).concat(Object.keys(sim.history()))) held.set(id, host);
    }
    return held;
  }
  // These simulations hold exactly the jobs they were seeded with (this test adds none).
  const sim = sims.find((s) => s.kind === KIND[project])!;
  const ids: string[] = SEED_STATES.flatMap((s) => sim.seeds[s]);
  if (sim.kind === 'comfycontrol')
    ids.push(...(sim as ComfycontrolSim).extraSeeds.accepted, ...(sim as ComfycontrolSim).extraSeeds.invalid);
  for (const id of ids) held.set(id, undefined);
  return held;
}

/** When a job happened, as listings order them: created, else started, else completed; undefined when none is known. */
const timeOf = (j: Job): number | undefined => {
  const iso = j.created_at ?? j.started_at ?? j.completed_at;
  return iso === undefined ? undefined : Date.parse(iso);
};
const timed = (j: Job) => timeOf(j) !== undefined;
const newestFirst = (times: number[]) => expect(times).toEqual([...times].sort((a, b) => b - a));

describe.each([
  { mode: 'legacy' as const, version: '2025-11-25' },
  { mode: 'modern' as const, version: '2026-07-28' },
])('list_jobs through the MCP Python SDK client in $mode mode', ({ mode, version }) => {
  const report = () => reports.get(mode)!;

  /** A listing's pages, or a failure that quotes what the Python client saw. */
  function pagesOf(project: Project, status: Listing['status']): Page[] {
    const r = report();
    const listing = r.listings.find((l) => l.project === project && JSON.stringify(l.status) === JSON.stringify(status));
    const toolError = listing?.error as { type?: string; structuredContent?: unknown } | undefined;
    if (toolError?.type === 'ToolError')
      expectMatchesOutputSchema('list_jobs', { isError: true, structuredContent: toolError.structuredContent });
    if (!listing || listing.error)
      throw new Error(
        `listing ${project} ${JSON.stringify(status)} failed in ${mode} mode: ${JSON.stringify(listing?.error ?? r.connect_error)}`,
      );
    for (const page of listing.pages) expectMatchesOutputSchema('list_jobs', { structuredContent: page });
    return listing.pages;
  }

  /** The checks every listing passes: page size, each job once, the project's backend, newest first. */
  function checkWalk(project: Project, pages: Page[]): Job[] {
    for (const p of pages) {
      expect(p.jobs.length).toBeLessThanOrEqual(LIMIT);
      expect(p).toMatchObject({ project_reference: project, backend: { kind: KIND[project] } });
      expect(p.unavailable_hosts).toBeUndefined();
    }
    expect(pages.at(-1)!.next_cursor).toBeNull();
    const jobs = pages.flatMap((p) => p.jobs);
    const ids = jobs.map((j) => j.job_id);
    expect(new Set(ids).size, `a job listed twice: ${ids.join(' ')}`).toBe(ids.length);
    const times = jobs.filter((j) => j.created_at !== undefined).map((j) => Date.parse(j.created_at!));
    expect(times.every(Number.isFinite)).toBe(true);
    newestFirst(times);
    if (project === 'studio-a') {
      // The hosts' lists merged by time; a legacy host's history has no creation time (its start
      // time counts), and its queue no time at all: those jobs come first, queued jobs are the newest.
      const firstTimed = jobs.findIndex(timed);
      expect(jobs.slice(firstTimed).every(timed), 'an untimed ComfyUI job after a timed one').toBe(true);
      newestFirst(jobs.slice(firstTimed).map((j) => timeOf(j)!));
    } else {
      expect(times.length, 'every job has created_at').toBe(jobs.length);
    }
    return jobs;
  }

  it(`connects at protocol ${version} without the other era's handshake, and offers list_jobs`, () => {
    const r = report();
    expect(r.connect_error).toBeUndefined();
    expect(r.protocol_version).toBe(version);
    if (mode === 'legacy') expect(r.rpc_methods[0]).toBe('initialize');
    else expect(r.rpc_methods).not.toContain('initialize');
    expect(r.tools).toContain('list_jobs');
  });

  it.each(PROJECTS)('pages through every job %s holds, each once, newest first, at most limit per page', (project) => {
    const pages = pagesOf(project, null);
    const jobs = checkWalk(project, pages);
    const held = heldBy(project);
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(held.size / LIMIT));
    expect(new Set(jobs.map((j) => j.job_id))).toEqual(new Set(held.keys()));
    if (project === 'studio-a') {
      // Each job names the host that holds it, and the legacy host's queue shows up too.
      for (const j of jobs) expect(j.host, j.job_id).toBe(held.get(j.job_id));
      expect(jobs.some((j) => !timed(j))).toBe(true);
    }
  });

  it.each(PROJECTS)('filters %s by status, several or one, paging to the same jobs as the unfiltered listing', (project) => {
    const all = pagesOf(project, null).flatMap((p) => p.jobs);
    for (const status of FILTERS) {
      const wanted = new Set<string>(typeof status === 'string' ? [status] : status);
      const jobs = checkWalk(project, pagesOf(project, typeof status === 'string' ? status : [...status]));
      expect(jobs.filter((j) => !wanted.has(j.status))).toEqual([]);
      expect(new Set(jobs.map((j) => j.job_id))).toEqual(new Set(all.filter((j) => wanted.has(j.status)).map((j) => j.job_id)));
      expect(jobs.length, `no ${[...wanted].join('/')} job in ${project}: the filter proves nothing`).toBeGreaterThan(0);
      if (project === 'studio-a') for (const j of jobs) expect(j.host).toBeTruthy();
    }
  });
});
