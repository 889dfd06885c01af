// npm run bench: throughput of MCP `tools/call get_job_status` on this machine, in one run: a bare
// proxy (the practical upper limit), the official SDK's per-request server and the gateway itself (both
// eras each, and the 2025-era request once more on a second gateway with `state.store: redis`, to show
// what the shared store costs per call), all over one fake agent-jobs backend, loaded by wrk in
// interleaved rounds. Prints figures; asserts nothing. Flags (defaults): --duration 8 (s per round),
// --rounds 3, --connections 32, --threads 1 (wrk's), --warmup 5 (s per target before round 1; 2 s left
// round 1 visibly colder), --only target,…  (bare, sdk-modern, sdk-legacy, gateway-modern,
// gateway-legacy, gateway-redis; sdk, gateway), --profile (CPU profile of the memory-store gateway: top
// 25 functions by self time), --changing-records (the backend's record differs on every read, so the
// adapters' memo of a job's last answer never applies: the cost of a job that changes all the time).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gatewayOutcomes, writeGatewayConfig } from './gateway-config.ts';
import { buildDist, imageStart } from './image-start.ts';
import { profileSummary } from './profile.ts';
import { logTail, rssKiB, startNode, stop, waitForPort } from './procs.ts';
import { freePort } from '../tools/ports.ts';
import { startRedisServer, type RedisServer } from '../tools/redis-server.ts';
import { ensureRedisServer } from '../tools/install.ts';
import { machineLine, median, table } from './report.ts';
import { checkOnce, requestShape, type Era, type Expect, type RequestShape } from './shapes.ts';
import { ensureWrk, runWrk, writeLua, type WrkResult } from './wrk.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '..', '..');
const TARGET_IDS = ['bare', 'sdk-modern', 'sdk-legacy', 'gateway-modern', 'gateway-legacy', 'gateway-redis'] as const;
type TargetId = (typeof TARGET_IDS)[number];
type ServerName = 'bare' | 'sdk' | 'gateway' | 'gateway-redis';
const serverOf = (id: TargetId): ServerName => (id === 'gateway-redis' ? 'gateway-redis' : (id.split('-')[0] as ServerName));
// gateway-redis sends gateway-legacy's request, so that the two rows differ only by the store.
const eraOf = (id: TargetId): Era => (id.endsWith('legacy') || id === 'gateway-redis' ? 'legacy' : 'modern');
const isGateway = (name: ServerName): boolean => name.startsWith('gateway');

interface Server {
  name: ServerName;
  port: number;
  log: string;
  child?: ChildProcess;
  failure?: string;
}

interface Target {
  id: TargetId;
  label: string;
  server: Server;
  url: string;
  shape: RequestShape;
  expect: Expect;
  lua: string;
  rounds: WrkResult[];
  rssKiB: number | undefined;
  failure: string | undefined;
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      threads: { type: 'string', default: '1' },
      warmup: { type: 'string', default: '5' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'changing-records': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, not "${v}"`);
    return n;
  };
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const ids = only ? TARGET_IDS.filter((id) => only.some((o) => id === o || id.startsWith(`${o}-`))) : [...TARGET_IDS];
  const unknown = only?.filter((o) => !TARGET_IDS.some((id) => id === o || id.startsWith(`${o}-`))) ?? [];
  if (unknown.length > 0 || ids.length === 0)
    throw new Error(`--only: unknown target ${unknown.join(', ')}; targets: ${TARGET_IDS.join(', ')} (or sdk, gateway)`);
  return {
    duration: int('duration', values.duration, 1),
    rounds: int('rounds', values.rounds, 1),
    connections: int('connections', values.connections, 1),
    threads: int('threads', values.threads, 1),
    warmup: int('warmup', values.warmup, 0),
    ids,
    profile: values.profile,
    changingRecords: values['changing-records'],
  };
}

async function main(): Promise<number> {
  const opts = options();
  const wrkVersion = await ensureWrk();
  const image = imageStart(ROOT);
  if ([...opts.ids].some((id) => id.startsWith('gateway'))) buildDist(ROOT);
  const needs = new Set<ServerName>(opts.ids.map(serverOf));
  const redisVersion = needs.has('gateway-redis') ? redisServerVersion(await ensureRedisServer()) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-'));
  const profileDir = join(dir, 'cpu-profile');
  process.stdout.write(
    [
      `command:  ${[process.argv0, ...process.argv.slice(1).map((a) => a.replace(`${ROOT}/`, ''))].join(' ')}`,
      `machine:  ${machineLine()}`,
      `load:     ${wrkVersion}; ${opts.threads} thread${opts.threads > 1 ? 's' : ''}, ${opts.connections} connections, ${opts.duration} s per round, ${opts.rounds} round${opts.rounds > 1 ? 's' : ''} (interleaved), ${opts.warmup} s warm-up per target`,
      `          why ${opts.threads === 1 ? 'one thread' : `${opts.threads} threads`}: one wrk thread (epoll, a static request, no per-request Lua) uses ~10 % of a core at 10k rps, far above any`,
      `          target here; on 2 cores a second one only takes CPU from the server under test and the backend, which share the machine`,
      `targets:  ${opts.ids.join(', ')}; one fake agent-jobs backend process; each server in its own process; loopback only`,
      `backend:  one RUNNING job read again and again; its record ${opts.changingRecords ? 'differs on every read (--changing-records)' : 'is the same on every read, as a job whose state has not changed (--changing-records: a new one every read)'}`,
      `gateway:  OAuth on (ES256 JWT, local JWKS file), admin listener (metrics) on, logs at the default level to a file, caller rate limit 100000/s burst 1000000${opts.profile ? ', CPU profile on (--cpu-prof)' : ''}`,
      `          started as the Docker image starts it: node ${[...image.nodeArgs, 'dist/main.js'].join(' ')} (built by npm run build), ${Object.entries(
        image.env,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      ...(redisVersion
        ? [
            `          gateway redis: a second gateway process, the same but state.store: redis on ${redisVersion} (loopback, no persistence), sent gateway legacy's request`,
          ]
        : []),
      `temp dir: ${dir}`,
      '',
    ].join('\n'),
  );

  const backendPort = await freePort();
  const backendLog = join(dir, 'fake-backend.log');
  const backend = startNode(join(HERE, 'fake-backend.ts'), [String(backendPort), ...(opts.changingRecords ? ['changing'] : [])], {
    logFile: backendLog,
  });
  try {
    await waitForPort(backendPort, backend);
  } catch (e) {
    throw new Error(`the fake backend did not start: ${(e as Error).message}\n${logTail(backendLog)}`, { cause: e });
  }
  const backendBase = `http://127.0.0.1:${backendPort}/api/v0`;

  const servers = new Map<ServerName, Server>();
  const tokens = new Map<ServerName, string>();
  const adminUrls = new Map<ServerName, string>();
  let redis: RedisServer | undefined;
  for (const name of ['bare', 'sdk', 'gateway', 'gateway-redis'] as const) {
    if (!needs.has(name)) continue;
    const server: Server = { name, port: await freePort(), log: join(dir, `${name}.log`) };
    servers.set(name, server);
    if (isGateway(name)) {
      let stateUrl: string | undefined;
      if (name === 'gateway-redis') {
        try {
          redis = await startRedisServer();
          stateUrl = redis.url;
        } catch (e) {
          server.failure = `redis-server did not start: ${(e as Error).message}`;
          continue;
        }
      }
      const setup = await writeGatewayConfig(
        dir,
        { mcp: server.port, admin: await freePort(), backend: backendPort },
        { name, ...(stateUrl !== undefined ? { stateUrl } : {}) },
      );
      tokens.set(name, setup.token);
      adminUrls.set(name, setup.adminUrl);
      const env = { ...process.env, ...image.env };
      delete env.LOG_LEVEL; // the default level
      delete env.PORT; // would override the config's port
      const profile = opts.profile && name === 'gateway';
      const nodeArgs = [...image.nodeArgs, ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
      server.child = startNode(image.main, ['--config', setup.configFile], { logFile: server.log, nodeArgs, env });
    } else {
      server.child = startNode(join(HERE, `${name === 'bare' ? 'bare-proxy' : 'sdk-server'}.ts`), [String(server.port), backendBase], {
        logFile: server.log,
      });
    }
  }
  for (const server of servers.values()) {
    if (server.failure !== undefined) continue;
    try {
      await waitForPort(server.port, server.child!);
    } catch (e) {
      server.failure = `the ${server.name} server did not start: ${(e as Error).message}\n${logTail(server.log)}`;
    }
  }

  const targets: Target[] = opts.ids.map((id) => {
    const server = servers.get(serverOf(id))!;
    const lua = join(dir, `${id}.lua`);
    const shape = requestShape(eraOf(id), tokens.get(server.name));
    writeLua(lua, shape);
    const label = id === 'bare' ? 'bare proxy' : id.replace('-', ' ');
    return {
      id,
      label,
      server,
      url: `http://127.0.0.1:${server.port}/mcp`,
      shape,
      expect: isGateway(server.name) ? 'gateway' : 'passthrough',
      lua,
      rounds: [],
      rssKiB: undefined,
      failure: server.failure,
    };
  });

  const load = (t: Target, seconds: number) =>
    runWrk({ url: t.url, lua: t.lua, threads: opts.threads, connections: opts.connections, seconds });
  const check = async (t: Target, when: string): Promise<boolean> => {
    const reason = await checkOnce(t.url, t.shape, t.expect);
    if (reason !== undefined) t.failure = `${when}: ${reason}`;
    return reason === undefined;
  };

  for (const t of targets) {
    if (t.failure !== undefined || !(await check(t, 'check before warm-up'))) {
      process.stdout.write(`${t.label}: FAILED, skipped\n`);
      continue;
    }
    if (opts.warmup > 0) {
      process.stdout.write(`${t.label}: warm-up ${opts.warmup} s\n`);
      try {
        await load(t, opts.warmup);
      } catch (e) {
        t.failure = `warm-up: ${(e as Error).message}`;
      }
    }
  }
  for (let round = 1; round <= opts.rounds; round++) {
    for (const t of targets) {
      if (t.failure !== undefined || !(await check(t, `check before round ${round}`))) continue;
      try {
        const r = await load(t, opts.duration);
        t.rounds.push(r);
        t.rssKiB = rssKiB(t.server.child?.pid);
        process.stdout.write(
          `round ${round}/${opts.rounds}  ${t.label.padEnd(15)} ${r.rps.toFixed(0).padStart(7)} rps  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  RSS ${t.rssKiB === undefined ? '-' : (t.rssKiB / 1024).toFixed(0)} MiB${r.non2xx + r.socketErrors > 0 ? `  non-2xx ${r.non2xx}, socket errors ${r.socketErrors}` : ''}\n`,
        );
      } catch (e) {
        t.failure = `round ${round}: ${(e as Error).message}`;
      }
    }
  }

  const notes: string[] = [];
  for (const [name, adminUrl] of adminUrls) {
    if (servers.get(name)?.failure === undefined) notes.push(await gatewayOutcomes(adminUrl, name.replace('-', ' ')));
  }
  const storeCost = storeCostNote(targets);
  if (storeCost) notes.push(storeCost);
  const gateway = servers.get('gateway')?.child;
  let profileReport = '';
  if (opts.profile && gateway) profileReport = await profileSummary(gateway, profileDir);

  process.stdout.write(
    `\n${table(
      targets,
      targets.find((t) => t.id === 'bare'),
    )}\n`,
  );
  process.stdout.write(
    '\nrps and latencies: medians of the rounds (latency percentiles from wrk --latency); RSS: the server process after its last load;\nnon-2xx and socket errors: summed over the rounds (warm-up excluded). sdk modern and sdk legacy share one process, as do gateway modern and gateway legacy.\n',
  );
  for (const t of targets) if (t.failure !== undefined) process.stdout.write(`\n${t.label} FAILED — ${t.failure}\n`);
  for (const t of targets) {
    const bad = t.rounds.reduce((a, r) => a + r.non2xx + r.socketErrors, 0);
    const all = t.rounds.reduce((a, r) => a + r.requests, 0);
    if (bad > 0)
      process.stdout.write(
        `\nWARNING: ${t.label}: ${bad} of ${all} requests got a non-2xx answer or a socket error: its figures are not all successful calls\n`,
      );
  }
  for (const n of notes) process.stdout.write(`\n${n}\n`);
  if (profileReport) process.stdout.write(`\n${profileReport}`);

  const failed = targets.some((t) => t.failure !== undefined);
  for (const s of servers.values()) if (s.child) await stop(s.child, 'SIGTERM', 10_000);
  await stop(backend, 'SIGTERM', 10_000);
  await redis?.close();
  if (failed || opts.profile) process.stdout.write(`\nlogs${opts.profile ? ' and the profile' : ''} kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
  return 0;
}

/** What `state.store: redis` costs per call: gateway redis against gateway legacy (the same request). */
function storeCostNote(targets: Target[]): string | undefined {
  const memory = targets.find((t) => t.id === 'gateway-legacy');
  const redis = targets.find((t) => t.id === 'gateway-redis');
  if (!memory || !redis || memory.rounds.length === 0 || redis.rounds.length === 0) return undefined;
  const rps = (t: Target) => median(t.rounds.map((r) => r.rps));
  const p50 = (t: Target) => median(t.rounds.map((r) => r.p50Ms));
  // At saturation 1/rps is the time the server spends per call, so the difference is the store's share.
  const usPerCall = (t: Target) => 1e6 / rps(t);
  const extra = usPerCall(redis) - usPerCall(memory);
  const sign = (n: number) => (n >= 0 ? '+' : '-');
  return [
    `state.store: redis vs memory (gateway redis vs gateway legacy, the same request): ${((rps(redis) / rps(memory)) * 100).toFixed(1)} % of the rps;`,
    `  per call ${sign(extra)}${Math.abs(extra).toFixed(0)} µs of server time (1/rps: ${usPerCall(memory).toFixed(0)} µs → ${usPerCall(redis).toFixed(0)} µs), p50 ${sign(p50(redis) - p50(memory))}${Math.abs((p50(redis) - p50(memory)) * 1000).toFixed(0)} µs`,
  ].join('\n');
}

/** `redis-server --version`, shortened to "Redis 7.0.15". */
function redisServerVersion(bin: string): string {
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const v = /v=(\S+)/.exec(out)?.[1];
  return v ? `Redis ${v}` : 'redis-server';
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  },
);
