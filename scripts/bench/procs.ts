// Child processes of the benchmark: started with their output in a log file, waited for until their
// port answers, and all killed when the benchmark exits, is interrupted or fails. Free ports come
// from binding port 0 on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping the benchmark's processes\n`);
    killAll();
    process.exit(130);
  });
}

/** Tracks a child so it is killed on exit; forgets it once it has exited. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Starts `node [nodeArgs] script args` with stdout and stderr appended to `logFile`. */
export function startNode(
  script: string,
  args: string[],
  options: { logFile: string; nodeArgs?: string[]; env?: NodeJS.ProcessEnv },
): ChildProcess {
  const fd = openSync(options.logFile, 'a');
  try {
    return track(
      spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
        stdio: ['ignore', fd, fd],
        env: options.env ?? process.env,
      }),
    );
  } finally {
    closeSync(fd);
  }
}

export function logTail(logFile: string, lines = 8): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects if the child exits first or on timeout. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before listening`);
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`not listening on port ${port} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends `signal` and waits for the exit; SIGKILL after `timeoutMs`. Resolves with the exit code or signal. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return String(child.exitCode ?? child.signalCode);
  const exited = new Promise<string>((resolve) => child.once('exit', (code, sig) => resolve(String(code ?? sig))));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Resident set size of a process in KiB (VmRSS in /proc/<pid>/status), or undefined. */
export function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a command to completion (tracked, so an interrupt kills it) and collects its output. */
export function run(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env }));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
