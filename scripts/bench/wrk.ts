// The load generator: wrk (Debian package `wrk`, installed when missing), one Lua script per request
// shape, and the figures read from `wrk --latency` output.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { run } from './procs.ts';
import type { RequestShape } from './shapes.ts';

/** wrk's version line; installs the package with apt-get when wrk is not on PATH. Throws a clear message if it cannot. */
export async function ensureWrk(): Promise<string> {
  const probe = (): string | undefined => {
    const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
    return r.error ? undefined : `${r.stdout}${r.stderr}`.split('\n')[0]?.trim();
  };
  const found = probe();
  if (found !== undefined) return found;
  process.stdout.write('wrk is not on PATH: installing the Debian package (apt-get update && apt-get install -y wrk)…\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'wrk']]) {
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run('apt-get', args, env);
    } catch (e) {
      throw new Error(
        `cannot install wrk: apt-get ${args.join(' ')} could not run (${(e as Error).message}); install wrk yourself and run again`,
        { cause: e },
      );
    }
    if (r.code !== 0) {
      const tail = `${r.stdout}${r.stderr}`.trimEnd().split('\n').slice(-8).join('\n');
      throw new Error(
        `cannot install wrk: apt-get ${args.join(' ')} exited ${r.code} (root is needed):\n${tail}\ninstall wrk yourself and run again`,
      );
    }
  }
  const installed = probe();
  if (installed === undefined) throw new Error('cannot find wrk on PATH even after apt-get install -y wrk');
  return installed;
}

/** Writes a Lua script making every request the same static POST (no per-request Lua, so wrk stays cheap). */
export function writeLua(file: string, shape: RequestShape): void {
  const q = (s: string): string => `[==[${s}]==]`;
  const lines = ['wrk.method = "POST"', `wrk.body = ${q(shape.body)}`];
  for (const [k, v] of Object.entries(shape.headers)) lines.push(`wrk.headers[ ${q(k)} ] = ${q(v)}`); // spaces: `[[` would open a long string
  writeFileSync(file, `${lines.join('\n')}\n`);
}

export interface WrkResult {
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** "Non-2xx or 3xx responses" (wrk counts statuses above 399). */
  non2xx: number;
  /** connect + read + write + timeout socket errors. */
  socketErrors: number;
}

export async function runWrk(o: { url: string; lua: string; threads: number; connections: number; seconds: number }): Promise<WrkResult> {
  const args = [
    '-t',
    String(o.threads),
    '-c',
    String(o.connections),
    '-d',
    `${o.seconds}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    o.lua,
    o.url,
  ];
  const r = await run('wrk', args);
  // wrk reports a broken Lua script on stderr and then goes on with plain GETs, exiting 0.
  if (r.code !== 0 || r.stderr.trim() !== '') throw new Error(`wrk exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
  return parseWrk(r.stdout);
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function num(out: string, re: RegExp, what: string): RegExpExecArray {
  const m = re.exec(out);
  if (!m) throw new Error(`cannot read ${what} from wrk's output:\n${out}`);
  return m;
}

export function parseWrk(out: string): WrkResult {
  const pct = (p: string): number => {
    const m = num(out, new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm'), `the ${p}% latency`);
    return Number(m[1]) * UNIT_MS[m[2]!]!;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(num(out, /^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    requests: Number(num(out, /^\s*(\d+) requests in /m, 'the request count')[1]),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: sock ? sock.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0,
  };
}
