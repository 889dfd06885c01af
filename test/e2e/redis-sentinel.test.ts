// The shared store behind Redis Sentinel: two gateway processes find the master through three
// Sentinels (`state.sentinels`, `state.sentinel_master`; the password from `state.url`). The master is
// killed (kill -9) while both replicas answer calls; the Sentinels promote the replica and both
// gateways follow it without a restart: no crash, no false answer, and a tombstone written just before
// the failover (which the replica may not have received) is honoured by every replica after it.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComfyuiSim } from '../../src/backends/comfyui/simulation/server.ts';
import { startSentinelGroup, type SentinelGroup } from '../../scripts/tools/redis-sentinel.ts';
import { callTool, startReplicas, type Replica, type Replicas, type ToolAnswer } from '../helpers/replicas.ts';

const STORE_UP = 'mcp_job_gateway_state_store_up';
const PASSWORD = 'sentinel-group-secret';
const SETUP_TIMEOUT_MS = 5 * 60_000;

let group: SentinelGroup;
let r: Replicas;
let A: Replica;
let B: Replica;

beforeAll(async () => {
  group = await startSentinelGroup({ password: PASSWORD });
  await group.settled();
  r = await startReplicas({
    stateUrl: group.url,
    configure: (config) => ({
      ...config,
      // Every call answered, so that every answer can be checked (budgets are tested in shared-state.test.ts).
      server: { ...config.server, caller_rate_limit: { enabled: false }, shutdown_grace_seconds: 2 },
      state: { ...config.state, sentinels: group.sentinels, sentinel_master: group.masterName },
    }),
  });
  [A, B] = r.replicas as [Replica, Replica];
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await r?.close();
  await group?.close();
});

const comfyHosts = () => r.sandbox.simulations.filter((s): s is ComfyuiSim => s.kind === 'comfyui' || s.kind === 'comfyui_legacy');
const seed = (project: string, state: 'queued' | 'running' | 'succeeded') => r.sandbox.seedsByProject.get(project)![state][0]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Redis Sentinel', () => {
  it('the master killed under load: both gateways follow the promoted replica, answer truly throughout, and keep the tombstones', async () => {
    const token = await r.mint('agent-sentinel');
    const a = await A.client(token);
    const b = await B.client(token);
    for (const replica of [A, B]) await expect.poll(() => replica.metric(STORE_UP), { timeout: 30_000, interval: 500 }).toBe(1);
    expect([A.events('state_store_up'), B.events('state_store_up')]).toEqual([1, 1]);
    const oldMaster = await group.masterPort();
    expect(oldMaster).toBe(group.servers[0].port);

    // Sharing works through the Sentinels' master: cancelled through A, cancelled through B.
    const known = comfyHosts()[0]!.submit();
    expect(await callTool(a, 'cancel_job', { project_reference: 'studio-a', job_id: known })).toMatchObject({ outcome: 'cancelled' });
    expect(await callTool(b, 'get_job_status', { project_reference: 'studio-a', job_id: known })).toMatchObject({ status: 'cancelled' });

    // What the load reads, and what each must say, whatever happens to the store.
    const reads: [string, string, string][] = [
      ['studio-a', seed('studio-a', 'succeeded'), 'succeeded'],
      ['agents', seed('agents', 'running'), 'running'],
      ['site-x', seed('site-x', 'queued'), 'queued'],
      ['studio-a', known, 'cancelled'],
    ];
    let loading = true;
    const answers: { via: string; project: string; expected: string; answer: ToolAnswer }[] = [];
    const errors: string[] = [];
    const load = Promise.all(
      Array.from({ length: 4 }, async (_, agent) => {
        for (let n = agent; loading; n++) {
          const [via, client]: [string, Client] = n % 2 === 0 ? ['A', a] : ['B', b];
          const [project, id, expected] = reads[n % reads.length]!;
          try {
            answers.push({
              via,
              project,
              expected,
              answer: await callTool(client, 'get_job_status', { project_reference: project, job_id: id }),
            });
          } catch (e) {
            errors.push(`${via} ${project}: ${String(e)}`);
          }
          await sleep(50);
        }
      }),
    );

    // A tombstone written just before the failover: the replica may not have received it.
    const late = comfyHosts()[1]!.submit();
    expect(await callTool(a, 'cancel_job', { project_reference: 'studio-a', job_id: late })).toMatchObject({ outcome: 'cancelled' });
    const beforeKill = answers.length;
    await group.servers[0].kill();

    // The Sentinels promote the replica; each gateway loses the master and finds the new one by itself.
    await expect.poll(() => group.masterPort().catch(() => 0), { timeout: 60_000, interval: 250 }).toBe(group.servers[1].port);
    for (const replica of [A, B]) {
      // Down when the master went (more than once if it met the replica before its promotion ended),
      // up again on the new master: one more state_store_up line than state_store_down lines.
      await expect.poll(() => replica.events('state_store_down'), { timeout: 60_000, interval: 250 }).toBeGreaterThan(0);
      await expect.poll(() => replica.metric(STORE_UP), { timeout: 60_000, interval: 250 }).toBe(1);
      expect(replica.events('state_store_up'), replica.name).toBe(replica.events('state_store_down') + 1);
    }
    // Load went on through the failover, and goes on after it.
    const afterFailover = answers.length;
    await expect.poll(() => answers.length, { timeout: 30_000 }).toBeGreaterThan(afterFailover + 20);
    loading = false;
    await load;

    expect(errors).toEqual([]);
    expect(afterFailover).toBeGreaterThan(beforeKill);
    const wrong = answers.filter((x) => x.answer.error !== undefined || x.answer.status !== x.expected);
    expect(wrong.slice(0, 5), `${wrong.length} of ${answers.length} answers were not what the backends say`).toEqual([]);

    // The late tombstone holds everywhere: B (which never read it) answers cancelled once A re-asserts
    // it on the new master, and a cancel through B is already_terminal.
    await expect
      .poll(async () => (await callTool(b, 'get_job_status', { project_reference: 'studio-a', job_id: late })).status, {
        timeout: 30_000,
        interval: 250,
      })
      .toBe('cancelled');
    expect(await callTool(a, 'get_job_status', { project_reference: 'studio-a', job_id: late })).toMatchObject({ status: 'cancelled' });
    const again = await callTool(b, 'cancel_job', { project_reference: 'studio-a', job_id: late });
    expect(again.error).toBeUndefined();
    expect(again).toMatchObject({ outcome: 'already_terminal', status_after: 'cancelled' });

    // Sharing goes on through the new master.
    const after = comfyHosts()[0]!.submit();
    expect(await callTool(b, 'cancel_job', { project_reference: 'studio-a', job_id: after })).toMatchObject({ outcome: 'cancelled' });
    expect(await callTool(a, 'get_job_status', { project_reference: 'studio-a', job_id: after })).toMatchObject({ status: 'cancelled' });

    expect([A.alive, B.alive]).toEqual([true, true]);
    expect(`${A.output()}${B.output()}`).not.toContain(PASSWORD);
  }, 180_000);
});
