// Running a program a page of docs/ shows, as written: its fenced blocks read from the page, and the
// program run as a separate process while the test steps the sandbox, its output compared with the
// output block the page prints beside it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The body of the first fenced block of `file` that opens with the line `fence` after the first line
 * matching `after` (a heading, or a `<!-- … -->` comment naming the block).
 */
export function fencedBlock(file: string, after: RegExp, fence: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const from = lines.findIndex((l) => after.test(l));
  const open = from < 0 ? -1 : lines.indexOf(fence, from);
  if (open < 0) throw new Error(`${file}: no ${fence} block after ${String(after)}`);
  return lines.slice(open + 1, lines.indexOf('```', open + 1)).join('\n') + '\n';
}

export interface RunningExample {
  /** Resolves with the exit code once the process has ended and its output is read. */
  readonly exited: Promise<number | null>;
  /** Whether the process has ended. */
  readonly ended: () => boolean;
  readonly stdout: () => string;
  readonly stderr: () => string;
  kill(): void;
}

/** Starts a program with extra environment variables, collecting what it prints. */
export function runExample(command: string, args: string[], env: Record<string, string>): RunningExample {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    exited,
    ended: () => child.exitCode !== null || child.signalCode !== null,
    stdout: () => stdout,
    stderr: () => stderr,
    kill: () => void child.kill('SIGKILL'),
  };
}
