// A Redis Sentinel group for tests: a master and a replica (redis-server, no persistence, one password
// for clients and for replication) watched by Sentinels (`redis-server CONF --sentinel`, the same
// Debian package), which fail the master over to the replica a second after it stops answering.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensureRedisServer } from './install.ts';
import { freePort } from './ports.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

export interface SentinelGroup {
  /** The name the Sentinels monitor the master under. */
  readonly masterName: string;
  /** `127.0.0.1:port` of each Sentinel. */
  readonly sentinels: readonly string[];
  /** The two servers; `servers[0]` starts as the master. */
  readonly servers: readonly [RedisServer, RedisServer];
  /** redis://:password@… : the credentials (its host is the master name, not used with Sentinel). */
  readonly url: string;
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  /** Resolves once every Sentinel knows the replica (in sync) and the other Sentinels. */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const MASTER = 'gateway-master';
const START_TIMEOUT_MS = 10_000;

export async function startSentinelGroup(options: { password: string; sentinels?: number }): Promise<SentinelGroup> {
  const bin = await ensureRedisServer();
  const auth = ['--masterauth', options.password];
  const master = await startRedisServer({ password: options.password, args: auth });
  const replica = await startRedisServer({ password: options.password, args: [...auth, '--replicaof', '127.0.0.1', String(master.port)] });
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  const count = options.sentinels ?? 3;
  try {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize no',
          'logfile ""',
          `dir ${dir}`,
          `sentinel monitor ${MASTER} 127.0.0.1 ${master.port} ${Math.floor(count / 2) + 1}`,
          `sentinel auth-pass ${MASTER} ${options.password}`,
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 5000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          '',
        ].join('\n'),
      );
      children.push(await startSentinel(bin, conf, port));
      ports.push(port);
    }
  } catch (e) {
    children.forEach((c) => c.kill('SIGKILL'));
    await master.close();
    await replica.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const ask = async <T>(port: number, command: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    try {
      await r.connect();
      return await command(r);
    } finally {
      r.disconnect();
    }
  };
  const fields = (flat: unknown): Record<string, string> => {
    const list = flat as string[];
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
    return out;
  };

  return {
    masterName: MASTER,
    sentinels: ports.map((p) => `127.0.0.1:${p}`),
    servers: [master, replica],
    url: `redis://:${encodeURIComponent(options.password)}@${MASTER}`,
    async masterPort() {
      const [, port] = (await ask(ports[0]!, (r) => r.call('SENTINEL', 'get-master-addr-by-name', MASTER))) as [string, string];
      return Number(port);
    },
    async settled(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ok = await Promise.all(
          ports.map(async (port) => {
            const replicas = ((await ask(port, (r) => r.call('SENTINEL', 'replicas', MASTER))) as unknown[]).map(fields);
            const others = (await ask(port, (r) => r.call('SENTINEL', 'sentinels', MASTER))) as unknown[];
            return (
              replicas.some((x) => x.port === String(replica.port) && x['master-link-status'] === 'ok' && !x.flags?.includes('down')) &&
              others.length === ports.length - 1
            );
          }),
        ).then(
          (all) => all.every(Boolean),
          () => false,
        );
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`the Sentinels did not all see the replica and each other within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async close() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGKILL');
            }),
        ),
      );
      await master.close();
      await replica.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startSentinel(bin: string, conf: string, port: number): Promise<ChildProcess> {
  const c = spawn(bin, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => c.kill('SIGKILL');
  process.once('exit', killOnExit);
  c.once('exit', () => process.off('exit', killOnExit));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`redis-sentinel on port ${port} did not start in ${START_TIMEOUT_MS / 1000} s:\n${out}`)),
      START_TIMEOUT_MS,
    );
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/\+monitor master/.test(out)) done();
    };
    const onExit = (code: number | null) => fail(new Error(`redis-sentinel exited (${code}) on port ${port}:\n${out.slice(-2000)}`));
    const cleanup = () => {
      clearTimeout(timer);
      c.stdout!.off('data', onData);
      c.stderr!.off('data', onData);
      c.off('exit', onExit);
    };
    const done = () => (cleanup(), resolve());
    const fail = (e: Error) => {
      cleanup();
      c.kill('SIGKILL');
      reject(e);
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    c.once('exit', onExit);
  });
  c.stdout!.resume();
  c.stderr!.resume();
  return c;
}
