// Several replicas, one truth: two gateway processes (`node src/main.ts`) on one real Redis server
// (`state.store: redis`, a password, the URL from ${env:…}) and one set of sandbox simulations. What a
// caller notices: a ComfyUI job cancelled through one replica is cancelled through the other, one
// caller's budget is one budget, ComfyControl is never pushed past its limit and a 429 pauses every
// replica, and a store outage costs only the sharing, never an answer. A store that comes back empty
// (killed and restarted without persistence, or flushed) gets back what the replicas knew.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComfycontrolSim, type ComfycontrolSim } from '../../src/backends/comfycontrol/simulation/server.ts';
import type { ComfyuiSim } from '../../src/backends/comfyui/simulation/server.ts';
import { startRedisServer, type RedisServer } from '../../scripts/tools/redis-server.ts';
import { callTool, startReplicas, type Replica, type Replicas, type ToolAnswer } from '../helpers/replicas.ts';
import { modernRpc } from '../helpers/modern-rpc.ts';
import { pino } from 'pino';
import { createStateStore } from '../../src/state/create-store.ts';

const STORE_UP = 'mcp_job_gateway_state_store_up';
/**
 * Per caller: 20 messages at once, then one every 10 s (small enough to count, large enough for the
 * other tests: every message spends it, handshakes and the fan-out over ComfyUI hosts included; the
 * slow refill keeps what refills during a test out of its counts however slow the machine).
 */
const CALLER_BUDGET = { enabled: true, per_second: 0.1, burst: 20 };
/** What `callerOn` spends of a caller's budget: two clients, each sending initialize and notifications/initialized. */
const HANDSHAKE_POINTS = 4;
/** The ComfyControl limit of the hammered project, on the simulation and in the gateway's config alike. */
const BURST_LIMIT = { requests: 10, perSeconds: 2 };
const BURST_TOKEN = 'cfc_burst_token';

// Installing redis-server (apt-get) takes a while on a cold machine; starting two gateways, seconds.
const SETUP_TIMEOUT_MS = 5 * 60_000;

let redis: RedisServer;
let burstSim: ComfycontrolSim;
let r: Replicas;
let A: Replica;
let B: Replica;

beforeAll(async () => {
  redis = await startRedisServer({ password: 'replica-secret' });
  // A ComfyControl of its own with a small limit, so the test can spend several windows quickly.
  burstSim = await startComfycontrolSim({
    token: BURST_TOKEN,
    namespace: 'comfycontrol:burst',
    rateLimit: { ...BURST_LIMIT, cooldownSeconds: 5 },
  });
  r = await startReplicas({
    stateUrl: redis.url,
    configure: (config) => ({
      ...config,
      server: { ...config.server, caller_rate_limit: CALLER_BUDGET, shutdown_grace_seconds: 2 },
      projects: [
        ...config.projects,
        {
          reference: 'cloud-burst',
          backend: {
            kind: 'comfycontrol',
            base_url: burstSim.baseUrl,
            token: BURST_TOKEN,
            rate_limit: { requests: BURST_LIMIT.requests, per_seconds: BURST_LIMIT.perSeconds },
          },
        },
      ],
    }),
  });
  [A, B] = r.replicas as [Replica, Replica];
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await r?.close();
  await burstSim?.close();
  await redis?.close();
});

/** A connected client for a new caller (token subject) on each replica. */
async function callerOn(subject: string): Promise<{ a: Client; b: Client }> {
  const token = await r.mint(subject);
  return { a: await A.client(token), b: await B.client(token) };
}

const comfyHosts = () => r.sandbox.simulations.filter((s): s is ComfyuiSim => s.kind === 'comfyui' || s.kind === 'comfyui_legacy');
/** The sandbox's ComfyControl (project cloud-renders, its default limit). */
const cloudRenders = () => r.sandbox.simulations.find((s): s is ComfycontrolSim => s.kind === 'comfycontrol')!;
const seed = (project: string, state: 'queued' | 'running' | 'succeeded') => r.sandbox.seedsByProject.get(project)![state][0]!;
/** A fresh job waiting in a ComfyUI host's queue (behind the seeded running job, which runs for minutes). */
const queuedComfyJob = (host = 0) => comfyHosts()[host]!.submit();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ComfyUI state shared by the replicas', () => {
  it('(a) a job cancelled while queued through A reads cancelled through B, and a second cancel through B is already_terminal', async () => {
    const { a, b } = await callerOn('agent-tombstone');
    const id = queuedComfyJob();
    expect(await callTool(a, 'cancel_job', { project_reference: 'studio-a', job_id: id })).toMatchObject({
      outcome: 'cancelled',
      status_before: 'queued',
    });
    // ComfyUI itself has forgotten the job: only the gateway's memory can answer for it now.
    expect(comfyHosts()[0]!.stateOf(id)).toBe('absent');

    expect(await callTool(b, 'get_job_status', { project_reference: 'studio-a', job_id: id })).toMatchObject({
      status: 'cancelled',
      found: true,
      terminal: true,
    });
    const again = await callTool(b, 'cancel_job', { project_reference: 'studio-a', job_id: id });
    expect(again.error).toBeUndefined();
    expect(again).toMatchObject({ outcome: 'already_terminal', status_after: 'cancelled' });
    // list_jobs agrees with get_job_status, through either replica.
    for (const client of [a, b]) {
      const listed = await callTool(client, 'list_jobs', { project_reference: 'studio-a', status: 'cancelled', limit: 100 });
      expect(listed.jobs).toContainEqual(
        expect.objectContaining({ job_id: id, status: 'cancelled', raw_status: 'removed from queue by the gateway', host: 'gpu1' }),
      );
    }
  });

  it('a job found through A is read through B from the host A found it on, without asking every host', async () => {
    const { a, b } = await callerOn('agent-hosts');
    // B meets every host once (the jobs-API probe and a lookup everywhere) on a job nobody has looked up.
    expect(await callTool(b, 'get_job_status', { project_reference: 'studio-a', job_id: seed('studio-a', 'succeeded') })).toMatchObject({
      status: 'succeeded',
    });

    const legacy = 2; // gpu3-legacy, the last host of studio-a
    const id = queuedComfyJob(legacy);
    expect(await callTool(a, 'get_job_status', { project_reference: 'studio-a', job_id: id })).toMatchObject({
      status: 'queued',
      host: 'gpu3-legacy',
    });
    await sleep(300); // room for A's write to land
    const before = comfyHosts().map((h) => h.server.requests.length);
    expect(await callTool(b, 'get_job_status', { project_reference: 'studio-a', job_id: id })).toMatchObject({
      status: 'queued',
      host: 'gpu3-legacy',
    });
    const asked = comfyHosts().map((h, i) => h.server.requests.length - before[i]!);
    expect(asked[legacy]).toBeGreaterThan(0);
    expect(
      asked.filter((_, i) => i !== legacy),
      'requests B sent to the hosts that do not have the job',
    ).toEqual([0, 0]);
  });
});

describe('budgets shared by the replicas', () => {
  it('(b) one caller has one budget across A and B', async () => {
    const { a, b } = await callerOn('agent-budget');
    const id = seed('agents', 'running');
    const granted = { A: 0, B: 0 };
    const limited = { A: 0, B: 0 };
    for (let i = 0; i < 2 * CALLER_BUDGET.burst; i++) {
      const via = i % 2 === 0 ? 'A' : 'B';
      const answer = await callTool(via === 'A' ? a : b, 'get_job_status', { project_reference: 'agents', job_id: id });
      if (answer.error) {
        expect(answer.error).toMatchObject({ code: 'RATE_LIMITED', retry_after_seconds: expect.any(Number) });
        limited[via]++;
      } else {
        expect(answer).toMatchObject({ status: 'running' });
        granted[via]++;
      }
    }
    // Two budgets would grant 2 × (20 - 2) = 36 of the 40; one budget grants what the handshakes left
    // of 20 (plus what refills, one every 10 s, meanwhile).
    const total = granted.A + granted.B;
    expect(total, JSON.stringify({ granted, limited })).toBeGreaterThanOrEqual(CALLER_BUDGET.burst - HANDSHAKE_POINTS);
    expect(total, JSON.stringify({ granted, limited })).toBeLessThanOrEqual(CALLER_BUDGET.burst - HANDSHAKE_POINTS + 2);
    expect(limited.A, 'A refused some calls').toBeGreaterThan(0);
    expect(limited.B, 'B refused some calls').toBeGreaterThan(0);
    // Another caller's budget is untouched.
    const other = await callerOn('agent-budget-neighbour');
    expect(await callTool(other.b, 'get_job_status', { project_reference: 'agents', job_id: id })).toMatchObject({ status: 'running' });
  });

  it('(c) both replicas hammering one ComfyControl project never push it past its limit', async () => {
    // Sixteen agents, each alternating between A and B every 500 ms (within its own caller budget for
    // the 6 s), staggered: 32 calls a second against a limit of 5, so only the ComfyControl budget gates.
    const agents = await Promise.all(Array.from({ length: 16 }, (_, i) => callerOn(`agent-hammer-${i}`)));
    const id = burstSim.seeds.succeeded[0]!;
    const before = burstSim.server.requests.length;
    const answers: { via: string; answer: ToolAnswer }[] = [];
    const started = Date.now();
    await Promise.all(
      agents.map(async ({ a, b }, i) => {
        await sleep(i * 31);
        for (let n = i; Date.now() < started + 6_000; n++) {
          const [via, client] = n % 2 === 0 ? (['A', a] as const) : (['B', b] as const);
          answers.push({ via, answer: await callTool(client, 'get_job_status', { project_reference: 'cloud-burst', job_id: id }) });
          await sleep(500);
        }
      }),
    );
    const elapsedMs = Date.now() - started;
    const served = answers.filter((x) => !x.answer.error);
    const limited = answers.filter((x) => x.answer.error);
    for (const x of served) expect(x.answer).toMatchObject({ status: 'succeeded' });
    for (const x of limited) expect(x.answer.error).toMatchObject({ code: 'RATE_LIMITED', retry_after_seconds: expect.any(Number) });

    // The simulation answers 429 as soon as more than its limit arrives within any window (two budgets
    // of 10 would send it 20 at once): it never did.
    expect(burstSim.rateLimitedResponses, 'requests ComfyControl refused with 429').toBe(0);
    const received = burstSim.server.requests.length - before;
    expect(served.length).toBe(received);
    // The budget was spent and refilled at least once in the 6 s, and never more than the limit allows.
    expect(received).toBeGreaterThanOrEqual(2 * BURST_LIMIT.requests);
    expect(received).toBeLessThanOrEqual((Math.floor(elapsedMs / (BURST_LIMIT.perSeconds * 1000)) + 1) * BURST_LIMIT.requests);
    expect(new Set(served.map((x) => x.via)), 'both replicas got answers through').toEqual(new Set(['A', 'B']));
    expect(new Set(limited.map((x) => x.via)), 'both replicas refused calls').toEqual(new Set(['A', 'B']));
  });

  it('(c) a 429 seen by one replica pauses the other', async () => {
    const { a, b } = await callerOn('agent-429');
    const cc = cloudRenders();
    const id = seed('cloud-renders', 'succeeded');
    expect(await callTool(b, 'get_job_status', { project_reference: 'cloud-renders', job_id: id })).toMatchObject({ status: 'succeeded' });

    cc.server.setFault({ kind: 'status', status: 429 });
    try {
      const seenByA = await callTool(a, 'get_job_status', { project_reference: 'cloud-renders', job_id: id });
      expect(seenByA.error).toMatchObject({ code: 'RATE_LIMITED', retry_after_seconds: expect.any(Number) });
    } finally {
      cc.server.setFault(null);
    }
    await sleep(300); // room for A's write to land
    // ComfyControl would answer again, but B waits out the cooldown A saw: it does not even call.
    const before = cc.server.requests.length;
    const seenByB = await callTool(b, 'get_job_status', { project_reference: 'cloud-renders', job_id: id });
    expect(seenByB.error).toMatchObject({ code: 'RATE_LIMITED', retry_after_seconds: expect.any(Number) });
    expect(seenByB.error!.retry_after_seconds).toBeGreaterThan(0);
    expect(cc.server.requests.length - before, 'requests B sent to ComfyControl during the cooldown').toBe(0);
  });
});

describe('MCP tasks shared by the replicas', () => {
  const taskRpc = (replica: Replica, token: string, method: string, params: Record<string, unknown>) =>
    modernRpc(replica.mcpUrl, method, params, { token });

  it('a task created through A is polled and cancelled through B, and both agree it is cancelled', async () => {
    const token = await r.mint('agent-tasks-cancel');
    const created = await taskRpc(A, token, 'tools/call', {
      name: 'get_job_status',
      arguments: { project_reference: 'agents', job_id: seed('agents', 'running'), wait_seconds: 3600 },
    });
    expect(created.result).toMatchObject({ resultType: 'task', status: 'working' });
    const { taskId } = created.result!;
    expect((await taskRpc(B, token, 'tasks/get', { taskId })).result).toMatchObject({ taskId, status: 'working' });
    expect((await taskRpc(B, token, 'tasks/cancel', { taskId })).result).toBeDefined();
    for (const replica of [A, B])
      expect((await taskRpc(replica, token, 'tasks/get', { taskId })).result).toMatchObject({ status: 'cancelled' });
    // Another caller finds it on neither.
    const other = await r.mint('agent-tasks-other');
    for (const replica of [A, B]) expect((await taskRpc(replica, other, 'tasks/get', { taskId })).error?.code).toBe(-32602);
  });

  it('a task that completed answers the same result on every replica, whichever saw its end first', async () => {
    const token = await r.mint('agent-tasks-complete');
    const created = await taskRpc(A, token, 'tools/call', {
      name: 'get_job_status',
      arguments: { project_reference: 'agents', job_id: seed('agents', 'running'), wait_seconds: 1 },
    });
    const { taskId } = created.result!;
    // The wait's deadline passes on the replicas' own clocks; poll B until it says so, slowly: every
    // poll spends a point of the caller's budget (20 at once here).
    let done: Record<string, any> | undefined;
    for (let polls = 0; polls < 15 && done === undefined; polls++) {
      await sleep(400);
      const answer = await taskRpc(B, token, 'tasks/get', { taskId });
      expect(answer.error).toBeUndefined();
      if (answer.result?.status === 'completed') done = answer.result;
    }
    expect(done!.result.structuredContent).toMatchObject({ status: 'running', changed: false, waited_seconds: 1 });
    expect((await taskRpc(A, token, 'tasks/get', { taskId })).result).toEqual(done);
  });
});

describe("a caller's live tasks counted by the replicas together", () => {
  it('two stores on one Redis never pass the bound together, and a removed or ended member frees a place', async () => {
    const logger = pino({ level: 'silent' });
    const config = { store: 'redis' as const, url: redis.url, key_prefix: 'live-test:', operation_timeout_ms: 1000 };
    const [one, two] = [createStateStore(config, { logger }), createStateStore(config, { logger })];
    try {
      await Promise.all([one.settled(5000), two.settled(5000)]);
      let now = Date.parse('2026-12-07T12:00:00Z');
      const [a, b] = [one.liveSet({ name: 'tasks', now: () => now }), two.liveSet({ name: 'tasks', now: () => now })];
      // Ten adds at once, five through each store, for a bound of four.
      const adds = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).add('caller-1', `t${i}`, now + 60_000 + i, 4)));
      expect(adds.filter((r) => r.added)).toHaveLength(4);
      for (const r of adds.filter((r) => !r.added)) expect(r).toEqual({ added: false, freesAt: expect.any(Number) });
      expect(await a.add('caller-2', 'x', now + 60_000, 4)).toEqual({ added: true }); // another caller's count is its own
      const held = adds.map((r, i) => (r.added ? `t${i}` : undefined)).filter((m) => m !== undefined);
      await b.remove('caller-1', held[0]!);
      expect(await a.add('caller-1', 'after-remove', now + 60_000, 4)).toEqual({ added: true });
      expect((await b.add('caller-1', 'over', now + 60_000, 4)).added).toBe(false);
      now += 61_000; // every member has ended
      expect(await b.add('caller-1', 'later', now + 60_000, 4)).toEqual({ added: true });
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

describe('a store outage', () => {
  /** Every kind of backend, through both replicas: answers as the backends say, promptly. */
  async function everyoneAnswers(clients: { a: Client; b: Client }): Promise<void> {
    const reads: [string, string, string][] = [
      ['studio-a', seed('studio-a', 'succeeded'), 'succeeded'],
      ['agents', seed('agents', 'running'), 'running'],
      ['site-x', seed('site-x', 'queued'), 'queued'],
    ];
    for (const [via, client] of [
      ['A', clients.a],
      ['B', clients.b],
    ] as const) {
      for (const [project, id, status] of reads) {
        const started = Date.now();
        const answer = await callTool(client, 'get_job_status', { project_reference: project, job_id: id });
        expect(answer, `${project} via ${via}`).toMatchObject({ status, found: true });
        expect(Date.now() - started, `${project} via ${via}: ms to answer`).toBeLessThan(3_000);
      }
    }
  }

  const readyz = async (replica: Replica) => (await fetch(`${replica.adminUrl}/readyz`)).status;

  it('(d) Redis stopped: both replicas keep answering from the backends; restarted: sharing resumes', async () => {
    const clients = await callerOn('agent-outage');
    for (const replica of [A, B]) await expect.poll(() => replica.metric(STORE_UP), { timeout: 10_000 }).toBe(1);

    await redis.stop();
    await everyoneAnswers(clients);
    // The metric says so; readiness does not (one shared store must not empty the Service).
    for (const replica of [A, B]) {
      await expect
        .poll(
          async () => {
            await callTool(replica === A ? clients.a : clients.b, 'get_job_status', {
              project_reference: 'agents',
              job_id: seed('agents', 'running'),
            });
            return replica.metric(STORE_UP);
          },
          { timeout: 15_000, interval: 500 },
        )
        .toBe(0);
      expect(await readyz(replica)).toBe(200);
    }
    // A cancel during the outage is answered, and the replica that did it still remembers it.
    const during = queuedComfyJob(1);
    expect(await callTool(clients.a, 'cancel_job', { project_reference: 'studio-a', job_id: during })).toMatchObject({
      outcome: 'cancelled',
    });
    expect(await callTool(clients.a, 'get_job_status', { project_reference: 'studio-a', job_id: during })).toMatchObject({
      status: 'cancelled',
    });
    // B may not know of it (docs/operations.md says so), but it answers.
    expect((await callTool(clients.b, 'get_job_status', { project_reference: 'studio-a', job_id: during })).error).toBeUndefined();
    // A task made now would resolve on this replica alone: a waiting call from a client that takes
    // tasks is answered in the call instead (its one second waited on the replica's own clock).
    const inline = await modernRpc(
      A.mcpUrl,
      'tools/call',
      { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: seed('agents', 'running'), wait_seconds: 1 } },
      { token: await r.mint('agent-outage') },
    );
    expect(inline.result).not.toHaveProperty('taskId');
    expect(inline.result?.structuredContent).toMatchObject({ status: 'running', changed: false, waited_seconds: 1 });
    await everyoneAnswers(clients);
    expect([A.alive, B.alive]).toEqual([true, true]);

    await redis.start();
    for (const replica of [A, B]) await expect.poll(() => replica.metric(STORE_UP), { timeout: 30_000, interval: 500 }).toBe(1);
    const after = queuedComfyJob(1);
    expect(await callTool(clients.a, 'cancel_job', { project_reference: 'studio-a', job_id: after })).toMatchObject({
      outcome: 'cancelled',
    });
    expect(await callTool(clients.b, 'get_job_status', { project_reference: 'studio-a', job_id: after })).toMatchObject({
      status: 'cancelled',
      found: true,
    });
    expect(await callTool(clients.b, 'cancel_job', { project_reference: 'studio-a', job_id: after })).toMatchObject({
      outcome: 'already_terminal',
    });
    await everyoneAnswers(clients);
    expect(`${A.output()}${B.output()}`).not.toContain('replica-secret');
  }, 90_000);
});

describe('a store that comes back empty', () => {
  /**
   * A job cancelled while queued through A (B never reads it), then `empty()` loses the store's data:
   * once A has written back what it knows, B answers cancelled, A still does, and a cancel through B is
   * already_terminal.
   */
  async function tombstoneSurvives(subject: string, empty: () => Promise<void>): Promise<void> {
    const clients = await callerOn(subject);
    for (const replica of [A, B]) await expect.poll(() => replica.metric(STORE_UP), { timeout: 30_000, interval: 500 }).toBe(1);
    const id = queuedComfyJob(1);
    expect(await callTool(clients.a, 'cancel_job', { project_reference: 'studio-a', job_id: id })).toMatchObject({
      outcome: 'cancelled',
    });

    await empty();

    // B asks once a second (its caller budget refills at 1/s): unknown until A has written it back.
    await expect
      .poll(async () => (await callTool(clients.b, 'get_job_status', { project_reference: 'studio-a', job_id: id })).status, {
        timeout: 30_000,
        interval: 1_000,
      })
      .toBe('cancelled');
    expect(await callTool(clients.a, 'get_job_status', { project_reference: 'studio-a', job_id: id })).toMatchObject({
      status: 'cancelled',
      found: true,
    });
    const again = await callTool(clients.b, 'cancel_job', { project_reference: 'studio-a', job_id: id });
    expect(again.error).toBeUndefined();
    expect(again).toMatchObject({ outcome: 'already_terminal', status_after: 'cancelled' });
    expect([A.alive, B.alive]).toEqual([true, true]);
  }

  it('Redis killed (kill -9) and restarted empty: every replica answers cancelled again', async () => {
    await tombstoneSurvives('agent-kill-9', async () => {
      await redis.kill();
      await redis.start();
    });
  }, 90_000);

  it('Redis flushed (FLUSHDB) under live connections: every replica answers cancelled again', async () => {
    await tombstoneSurvives('agent-flushdb', async () => {
      const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await admin.connect();
        expect(await admin.flushdb()).toBe('OK');
      } finally {
        admin.disconnect();
      }
    });
  }, 90_000);
});
