// End to end through the SDK client, the gateway and the sandbox simulations: every backend kind ×
// every seeded job state × both tools, and the failure cases an agent must be able to tell apart.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import type { BackendKind, SandboxServiceName } from '../../src/backends/registry.ts';
import type { ProfileName } from '../../src/backends/http-jobs/profiles.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import type { AgentJobsSim } from '../../src/backends/agent-jobs/simulation/server.ts';
import type { ComfycontrolSim } from '../../src/backends/comfycontrol/simulation/server.ts';
import { SEED_STATES, type SeedState, type Simulation } from '../../src/simulation/simulation.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort as closedPort } from '../../scripts/tools/ports.ts';

type Result = Record<string, unknown> & { error?: { code: string; message: string; retry_after_seconds?: number } };

const STATUS_OF: Record<SeedState, string> = {
  queued: 'queued',
  running: 'running',
  long_running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

// What a first cancel must answer, per backend kind, for a job that is queued or running. Terminal
// jobs always answer already_terminal. Cooperative or asynchronous stops answer cancel_requested.
type FirstCancel = { queued: string; running: string };
const FIRST_CANCEL: Record<Exclude<BackendKind, 'http_jobs'>, FirstCancel> & { http_jobs: Record<ProfileName, FirstCancel> } = {
  comfyui: { queued: 'cancelled', running: 'cancel_requested' }, // dequeue is immediate; interrupt is cooperative
  agent_jobs: { queued: 'cancelled', running: 'cancelled' }, // the API sets CANCELED at once
  project_runtime: { queued: 'cancelled', running: 'cancel_requested' }, // submitted → canceled; working stops cooperatively
  comfycontrol: { queued: 'cancel_requested', running: 'cancel_requested' }, // ComfyControl cancels asynchronously
  http_jobs: {
    replicate: { queued: 'cancelled', running: 'cancelled' }, // the prediction reads canceled at once
    fal: { queued: 'cancelled', running: 'cancel_requested' }, // a queued request is removed; the app stops a running one
    runpod: { queued: 'cancelled', running: 'cancelled' }, // the job reads CANCELLED at once
  },
};

// Every project of the sandbox config: one per kind at least (test/config/load.test.ts checks that).
const SANDBOX_CONFIG = loadConfigFile('config/sandbox.yaml');
const SANDBOX_PROJECTS = SANDBOX_CONFIG.projects.map((p) => [p.reference, p.backend.kind] as const);
/** What a first cancel answers on a project: by its kind, and for http_jobs by its profile. */
function firstCancel(project: string): FirstCancel {
  const backend = SANDBOX_CONFIG.projects.find((p) => p.reference === project)!.backend;
  if (backend.kind !== 'http_jobs') return FIRST_CANCEL[backend.kind];
  return FIRST_CANCEL.http_jobs[backend.profile!];
}

const simOf = <T extends Simulation>(t: TestGateway, kind: SandboxServiceName) => t.sandbox.simulations.find((s) => s.kind === kind) as T;

describe('every backend kind × every job state × both tools', () => {
  let t: TestGateway;
  let client: Client;
  const call = async (tool: string, args: Record<string, unknown>) => (await t.call(client, tool, args)).structuredContent as Result;

  beforeAll(async () => {
    // The matrix checks mappings, not ComfyControl's rate budget (tested on its own below).
    t = await startTestGateway({
      configure: (c) => ({
        ...c,
        projects: c.projects.map((p) =>
          p.backend.kind === 'comfycontrol' ? { ...p, backend: { ...p.backend, rate_limit: { requests: 10_000, per_seconds: 10 } } } : p,
        ),
      }),
    });
    client = await t.client();
  });
  afterAll(async () => t?.close());

  it.each(SANDBOX_PROJECTS)('%s (%s): status, cancel, cancel again, and the stop landing later', async (project, _kind) => {
    const seeds = t.sandbox.seedsByProject.get(project)!;
    const pendingStops: string[] = [];
    for (const state of SEED_STATES) {
      expect(seeds[state].length, `${project} seeds a ${state} job`).toBeGreaterThan(0);
      for (const id of seeds[state]) {
        const status = await call('get_job_status', { project_reference: project, job_id: id });
        expect(status, `${project} ${state} ${id}`).toMatchObject({
          project_reference: project,
          job_id: id,
          status: STATUS_OF[state],
          found: true,
        });
        expect(status.terminal).toBe(['succeeded', 'failed', 'cancelled'].includes(state));
        expect(typeof status.raw_status).toBe('string');

        const cancel = await call('cancel_job', { project_reference: project, job_id: id, reason: 'e2e' });
        const expected =
          state === 'queued'
            ? firstCancel(project).queued
            : state === 'running' || state === 'long_running'
              ? firstCancel(project).running
              : 'already_terminal';
        expect(cancel, `${project} ${state} ${id}`).toMatchObject({ outcome: expected, status_before: STATUS_OF[state] });
        if (expected === 'already_terminal') expect(cancel.status_after).toBe(STATUS_OF[state]);
        if (expected === 'cancelled') expect(cancel.status_after).toBe('cancelled');
        if (expected === 'cancel_requested') pendingStops.push(id);

        // Cancel is idempotent: a second cancel is never an error.
        const again = await call('cancel_job', { project_reference: project, job_id: id });
        expect(again.error).toBeUndefined();
        if (expected !== 'cancel_requested')
          expect(again).toMatchObject({ outcome: 'already_terminal', status_after: cancel.status_after });
      }
    }
    // Cooperative and asynchronous stops land within seconds; then the status says cancelled and a
    // further cancel says already_terminal.
    t.clock.advance(30_000);
    for (const id of pendingStops) {
      expect(await call('get_job_status', { project_reference: project, job_id: id })).toMatchObject({
        status: 'cancelled',
        terminal: true,
      });
      expect(await call('cancel_job', { project_reference: project, job_id: id })).toMatchObject({
        outcome: 'already_terminal',
        status_after: 'cancelled',
      });
    }
  });

  it('keeps answering cancelled for a ComfyUI job the gateway removed from a queue (ComfyUI itself forgets it)', async () => {
    const id = t.sandbox.seedsByProject.get('studio-a')!.queued.at(-1)!;
    // Already cancelled by the matrix above, or cancel it now: either way it is gone from ComfyUI.
    await call('cancel_job', { project_reference: 'studio-a', job_id: id });
    expect(await call('get_job_status', { project_reference: 'studio-a', job_id: id })).toMatchObject({ status: 'cancelled', found: true });
  });

  it('tells which ComfyUI host holds a job, including the legacy host', async () => {
    const hosts = new Set<string>();
    for (const id of t.sandbox.seedsByProject.get('studio-a')!.succeeded) {
      hosts.add(String((await call('get_job_status', { project_reference: 'studio-a', job_id: id })).host));
    }
    expect([...hosts].sort()).toEqual(['gpu1', 'gpu2', 'gpu3-legacy']);
  });

  it('reports failure details and outputs where the backend has them', async () => {
    const failed = await call('get_job_status', {
      project_reference: 'studio-a',
      job_id: t.sandbox.seedsByProject.get('studio-a')!.failed[0]!,
    });
    expect(failed.error).toMatchObject({ message: expect.any(String), type: expect.any(String), node: expect.any(String) });
    const done = await call('get_job_status', {
      project_reference: 'studio-a',
      job_id: t.sandbox.seedsByProject.get('studio-a')!.succeeded[0]!,
    });
    expect((done.outputs as unknown[]).length).toBeGreaterThan(0);
    expect(done.completed_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('passes the cancel reason to agent-jobs', async () => {
    const id = t.sandbox.seedsByProject.get('agents')!.queued[0]!;
    expect(simOf<AgentJobsSim>(t, 'agent_jobs').job(id)?.cancelReason).toBe('e2e');
  });

  it.each([
    ['studio-a', '3b241101-e2bb-4255-8caf-4136c566a962'],
    ['agents', 'job-that-never-was'],
    ['site-x', '3b241101-e2bb-4255-8caf-4136c566a962'],
    ['cloud-renders', '3b241101-e2bb-4255-8caf-4136c566a962'],
  ])('%s: an unknown id is status unknown (found false) and cancel not_found, not an error', async (project, id) => {
    expect(await call('get_job_status', { project_reference: project, job_id: id })).toMatchObject({
      status: 'unknown',
      found: false,
      terminal: false,
    });
    expect(await call('cancel_job', { project_reference: project, job_id: id })).toMatchObject({ outcome: 'not_found' });
  });
});

describe('failing backends', () => {
  let t: TestGateway;
  let client: Client;
  let log = '';
  let deadPort: number;
  const call = async (tool: string, args: Record<string, unknown>, signal?: AbortSignal) =>
    (await t.call(client, tool, args, signal ? { signal } : {})).structuredContent as Result;

  beforeAll(async () => {
    deadPort = await closedPort();
    const edit = (c: Config): Config => ({
      ...c,
      projects: [
        ...c.projects.map((p) => {
          if (p.reference === 'site-x' && p.backend.kind === 'project_runtime')
            return { ...p, backend: { ...p.backend, timeout_ms: 60_000 } };
          if (p.reference === 'agents' && p.backend.kind === 'agent_jobs') return { ...p, backend: { ...p.backend, timeout_ms: 300 } };
          return p;
        }),
        // A second ComfyUI project whose first host is down.
        {
          reference: 'half-down',
          aliases: [],
          backend: {
            kind: 'comfyui',
            api: 'auto',
            hosts: [
              { name: 'dead', url: `http://127.0.0.1:${deadPort}` },
              ...(c.projects[0]!.backend.kind === 'comfyui' ? c.projects[0]!.backend.hosts.slice(1, 2) : []),
            ],
          },
        },
        {
          reference: 'all-down',
          aliases: [],
          backend: { kind: 'agent_jobs', base_url: `http://127.0.0.1:${deadPort}/api/v0`, api_key: 'k' },
        },
      ],
    });
    t = await startTestGateway({
      configure: edit,
      deps: { logger: createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => ((log += c), cb()) }) }) },
    });
    client = await t.client();
  });
  afterAll(async () => t?.close());

  it('answers BACKEND_UNAVAILABLE for an unreachable backend, for both tools, never a status', async () => {
    for (const tool of ['get_job_status', 'cancel_job']) {
      const r = await t.call(client, tool, { project_reference: 'all-down', job_id: 'job-1' });
      expect(r.isError).toBe(true);
      expect(r.structuredContent).toMatchObject({ error: { code: 'BACKEND_UNAVAILABLE' }, project_reference: 'all-down' });
    }
  });

  it('finds a ComfyUI job on a live host while another host is down, but never calls an unknown id "unknown" then', async () => {
    const onGpu2 = t.sandbox.seedsByProject.get('studio-a')!.succeeded[1]!;
    expect(await call('get_job_status', { project_reference: 'half-down', job_id: onGpu2 })).toMatchObject({
      status: 'succeeded',
      host: 'gpu2',
    });
    const unknown = await call('get_job_status', { project_reference: 'half-down', job_id: '3b241101-e2bb-4255-8caf-4136c566a962' });
    expect(unknown.error?.code).toBe('BACKEND_UNAVAILABLE');
    expect(unknown.error?.message).toMatch(/dead/);
  });

  it('times out a hanging backend without holding up calls to another backend', async () => {
    const agents = simOf<AgentJobsSim>(t, 'agent_jobs');
    agents.server.setFault({ kind: 'hang' });
    try {
      const hung = call('get_job_status', { project_reference: 'agents', job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]! });
      const order: string[] = [];
      void hung.then(() => order.push('agents'));
      const other = await call('get_job_status', {
        project_reference: 'cloud-renders',
        job_id: t.sandbox.seedsByProject.get('cloud-renders')!.succeeded[0]!,
      });
      order.push('cloud-renders');
      expect(other.status).toBe('succeeded');
      const r = await hung;
      expect(order).toEqual(['cloud-renders', 'agents']);
      expect(r.error?.code).toBe('BACKEND_UNAVAILABLE');
      expect(r.error?.message).toMatch(/did not answer within 300 ms/);
    } finally {
      agents.server.setFault(null);
    }
  });

  it('answers BACKEND_UNAVAILABLE for a backend that returns garbage', async () => {
    const agents = simOf<AgentJobsSim>(t, 'agent_jobs');
    agents.server.setFault({ kind: 'garbage' });
    try {
      const r = await call('get_job_status', {
        project_reference: 'agents',
        job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]!,
      });
      expect(r.error?.code).toBe('BACKEND_UNAVAILABLE');
      expect(r.status).toBeUndefined();
    } finally {
      agents.server.setFault(null);
    }
  });

  it('aborts the in-flight backend call when the client closes the request (2026-07-28 cancellation)', async () => {
    const runtime = t.sandbox.simulations.find((s) => s.kind === 'project_runtime')!;
    runtime.server.setFault({ kind: 'hang' });
    try {
      const controller = new AbortController();
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
      const params = {
        name: 'get_job_status',
        arguments: { project_reference: 'site-x', job_id: t.sandbox.seedsByProject.get('site-x')!.succeeded[0]! },
        _meta: meta,
      };
      const pending = fetch(t.mcpUrl, {
        method: 'POST',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${t.token}`,
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'get_job_status',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params }),
      });
      await expect.poll(() => runtime.server.openRequests()).toBe(1);
      controller.abort('the agent lost interest');
      await expect(pending).rejects.toThrow();
      // The backend call had a 60 s deadline; only the cancellation can have closed it this soon.
      await expect.poll(() => runtime.server.openRequests(), { timeout: 5_000 }).toBe(0);
      // A client that leaves is not a failure of the gateway: nothing is logged as an error.
      await sleep(50);
      expect(log.split('\n').filter((l) => l.includes('"level":"error"'))).toEqual([]);
    } finally {
      runtime.server.setFault(null);
    }
  });

  it("keeps under ComfyControl's rate limit: a burst gets RATE_LIMITED from the gateway, never a 429 from the backend", async () => {
    const cc = simOf<ComfycontrolSim>(t, 'comfycontrol');
    const id = t.sandbox.seedsByProject.get('cloud-renders')!.succeeded[0]!;
    let limited: Result | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await call('get_job_status', { project_reference: 'cloud-renders', job_id: id });
      if (r.error) limited = r;
      else expect(r.status).toBe('succeeded');
    }
    expect(limited?.error).toMatchObject({ code: 'RATE_LIMITED', retry_after_seconds: expect.any(Number) });
    expect(cc.rateLimitedResponses).toBe(0);
    // The simulation runs on the test clock, the gateway's budget (rate-limiter-flexible) on Date.
    t.clock.advance(11_000);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 11_000 });
    try {
      expect(await call('get_job_status', { project_reference: 'cloud-renders', job_id: id })).toMatchObject({ status: 'succeeded' });
    } finally {
      vi.useRealTimers();
    }
  });
});
