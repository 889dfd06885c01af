// A real Redis server for tests and the bench: Debian's redis-server (installed by install.ts when missing)
// on a free loopback port, with no persistence and a temp dir of its own. It can be stopped and started
// again on the same port, as an outage and a recovery of the shared store look to the gateway.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRedisServer } from './install.ts';
import { freePort } from './ports.ts';

export interface RedisServer {
  readonly port: number;
  /** redis://[:password@]127.0.0.1:port */
  readonly url: string;
  /** Whether the server process is up. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); its data is gone (no persistence). */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL, as `kill -9`): no shutdown, its data is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Stops it and removes its temp dir. */
  close(): Promise<void>;
}

export interface RedisServerOptions {
  /** Sets requirepass: clients must authenticate (the url carries it). */
  password?: string;
  /** More command-line arguments (e.g. `--replicaof`). */
  args?: string[];
}

const START_TIMEOUT_MS = 10_000;

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = await ensureRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  // No RDB snapshots, no AOF, nothing but loopback; the log on stdout, which start() reads for readiness.
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--logfile',
    '',
  ];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  args.push(...(options.args ?? []));
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child) throw new Error('redis-server is already running');
    const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    // Never outlive the process that started it (a crashed test run, an interrupted benchmark).
    const killOnExit = () => c.kill('SIGKILL');
    process.once('exit', killOnExit);
    c.once('exit', () => {
      process.off('exit', killOnExit);
      if (child === c) child = undefined;
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`redis-server did not get ready on port ${port} in ${START_TIMEOUT_MS / 1000} s:\n${out.slice(-2000)}`)),
        START_TIMEOUT_MS,
      );
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) done();
      };
      const onExit = (code: number | null) =>
        fail(new Error(`redis-server exited (${code}) before it was ready on port ${port}:\n${out.slice(-2000)}`));
      const cleanup = () => {
        clearTimeout(timer);
        c.stdout.off('data', onData);
        c.stderr.off('data', onData);
        c.off('exit', onExit);
      };
      const done = () => (cleanup(), resolve());
      const fail = (e: Error) => {
        cleanup();
        c.kill('SIGKILL');
        reject(e);
      };
      c.stdout.on('data', onData);
      c.stderr.on('data', onData);
      c.once('exit', onExit);
    });
    // Keep draining the pipes so the server never blocks on a full one.
    c.stdout.resume();
    c.stderr.resume();
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    stop: () => stop(),
    kill: () => stop('SIGKILL'),
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
