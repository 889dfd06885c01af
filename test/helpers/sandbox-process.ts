// The gateway as a user starts it (`node src/main.ts` on the shipped sandbox config), with the
// config's fixed ports moved to free ones so tests never collide. Resolves once the start-up output
// is complete.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/tools/ports.ts';

/** The ports config/sandbox.yaml names besides the MCP port (admin, issuer, simulated backends). */
const SANDBOX_PORTS = [9090, 18180, 18188, 18189, 18190, 18191, 18192, 18193];

export interface SandboxProcess {
  child: ChildProcess;
  /** The MCP port (the shipped config's 8080 moved). */
  port: number;
  /** The admin port (the shipped config's 9090 moved). */
  adminPort: number;
  /** The sandbox issuer's URL (the shipped config's 18180 moved). */
  issuerUrl: string;
  /** Everything printed on stdout up to the end of the start-up output. */
  out: string;
  /** The printed jobs:read jobs:cancel token. */
  token: string;
  /** SIGTERM, resolving with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * `cwd`: the directory holding src/main.ts (default: this checkout). A port taken by another test
 * between its choice and the start (tests run in parallel) means a new choice, up to three times.
 */
export async function startSandboxProcess(env: NodeJS.ProcessEnv = {}, options: { cwd?: string } = {}): Promise<SandboxProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env, options.cwd);
    } catch (e) {
      if (attempt < 3 && e instanceof Error && e.message.includes('EADDRINUSE')) continue;
      throw e;
    }
  }
}

async function startOnce(env: NodeJS.ProcessEnv, cwd: string | undefined): Promise<SandboxProcess> {
  let text = readFileSync('config/sandbox.yaml', 'utf8');
  const moved = new Map<number, number>();
  for (const p of SANDBOX_PORTS) {
    moved.set(p, await freePort());
    text = text.replaceAll(String(p), String(moved.get(p)));
  }
  // …/config/sandbox.yaml, as the shipped file's path ends.
  const dir = join(mkdtempSync(join(tmpdir(), 'sandbox-')), 'config');
  mkdirSync(dir);
  const file = join(dir, 'sandbox.yaml');
  writeFileSync(file, text);
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts', '--config', file], {
    cwd,
    // A cache folder of its own: the sandbox issuer keeps its key and registrations there, never in the user's.
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', XDG_CACHE_HOME: join(dir, '..', 'cache'), ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    // The last line of the start-up output is the example command's tool arguments.
    child.stdout.on('data', () => /--tool-arg job_id=.*\n/.test(out) && resolve());
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
  });
  const token = /jobs:read jobs:cancel\s+(\S+)/.exec(out)?.[1] ?? '';
  return {
    child,
    port,
    adminPort: moved.get(9090)!,
    issuerUrl: `http://127.0.0.1:${moved.get(18180)!}`,
    out,
    token,
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
