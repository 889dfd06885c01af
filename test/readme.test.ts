// The README as a new user follows it: its sample start-up output is what the gateway prints, and its
// MCP Inspector command works as written, in a non-interactive shell, against the sandbox. The
// Inspector's own tool-schema portability check (--strict) finds nothing in the tools' schemas.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxProcess, type SandboxProcess } from './helpers/sandbox-process.ts';
import { expectMatchesOutputSchema } from './helpers/result-schemas.ts';

/** The Inspector release the test runs; the README says `npx -y @modelcontextprotocol/inspector` (the latest). */
const INSPECTOR = '@modelcontextprotocol/inspector@2.12.0';

const readme = readFileSync('README.md', 'utf8');

/** The fenced blocks of the README, with their info strings. */
function blocks(): { lang: string; body: string }[] {
  return [...readme.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

/**
 * Whether every README line matches the printed lines in order: `…` inside a line stands for any
 * text, and a line that is only `…` for any number of lines.
 */
function mismatch(sample: string, printed: string): string | undefined {
  const want = sample.replace(/\n$/, '').split('\n');
  const got = printed.replace(/\n$/, '').split('\n');
  const pattern = (line: string) =>
    new RegExp(
      `^${line
        .split('…')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
  let g = 0;
  for (let w = 0; w < want.length; w++) {
    const line = want[w]!;
    if (line.trim() === '…') {
      const next = want[w + 1];
      if (next === undefined) return undefined;
      const re = pattern(next);
      while (g < got.length && !re.test(got[g]!)) g++;
      continue;
    }
    if (g >= got.length) return `the README shows "${line}" after the end of what is printed`;
    if (!pattern(line).test(got[g]!)) return `the README shows\n  ${line}\nwhere the gateway prints\n  ${got[g]}`;
    g++;
  }
  return g === got.length ? undefined : `the gateway prints more than the README shows, from\n  ${got[g]}`;
}

/** Runs a shell command with stdin closed (as CI and scripts run it); resolves with its exit code and output. */
function sh(command: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('README', () => {
  let sandbox: SandboxProcess;
  beforeAll(async () => {
    sandbox = await startSandboxProcess();
  });
  afterAll(async () => sandbox?.stop());

  /** The printed start-up output with the moved ports put back to the shipped config's. */
  const printed = () =>
    sandbox.out
      .replaceAll(`127.0.0.1:${sandbox.port}/`, '127.0.0.1:8080/')
      .replaceAll(`127.0.0.1:${sandbox.adminPort}/`, '127.0.0.1:9090/');

  it('shows the start-up output the gateway really prints', () => {
    const sample = blocks().find((b) => b.body.startsWith('mcp-job-gateway '));
    expect(sample, 'the README has a start-up output block').toBeDefined();
    expect(mismatch(sample!.body, printed())).toBeUndefined();
  });

  it('gives an MCP Inspector command that works as written in a non-interactive shell', async () => {
    const block = blocks().find((b) => b.lang === 'bash' && b.body.includes('@modelcontextprotocol/inspector --cli'));
    expect(block, 'the README has an Inspector command').toBeDefined();
    expect(block!.body).toContain('npx -y @modelcontextprotocol/inspector');
    // The job it asks about is one the start-up output lists as succeeded.
    const jobId = /job_id=(\S+)/.exec(block!.body)?.[1];
    const succeeded = sandbox.out.split('\n').find((l) => l.trim().startsWith('succeeded'));
    expect(succeeded).toContain(jobId);
    const command = block!.body
      .replace('npx -y @modelcontextprotocol/inspector', `npx -y ${INSPECTOR}`)
      .replaceAll('http://127.0.0.1:8080/mcp', `http://127.0.0.1:${sandbox.port}/mcp`)
      .replace('<the read+cancel token>', sandbox.token);
    const r = await sh(command, 150_000);
    expect(r.code, r.stderr).toBe(0);
    const result = expectMatchesOutputSchema(
      'get_job_status',
      JSON.parse(r.stdout) as { structuredContent?: { status?: string; found?: boolean } },
    );
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', found: true });
  }, 180_000);

  it("passes the Inspector's strict tool-schema portability check", async () => {
    const r = await sh(
      `npx -y ${INSPECTOR} --cli http://127.0.0.1:${sandbox.port}/mcp --transport http --header "Authorization: Bearer ${sandbox.token}" --method tools/list --strict`,
      150_000,
    );
    expect(r.code, r.stderr).toBe(0);
    // With problems it prints each (Warning: / Error: tool "…", Path, Issue) and a count; with none, nothing.
    const report = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
    expect(report).toEqual([]);
    const tools = (JSON.parse(r.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(tools).toEqual(['get_job_status', 'cancel_job', 'list_jobs']);
  }, 180_000);
});
