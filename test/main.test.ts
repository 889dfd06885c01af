// The command line as a user runs it: node src/main.ts.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { startSandboxProcess } from './helpers/sandbox-process.ts';

const MAIN = 'src/main.ts';

describe('mcp-job-gateway command line', () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

  it('--check-config exits 0 for a valid file', () => {
    const r = spawnSync(process.execPath, [MAIN, '--check-config', 'config/sandbox.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/valid \(4 projects\)/);
  });

  it('--check-config exits non-zero and lists every problem by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server: { port: -1 }\nprojects:\n  - reference: x\n    backend: { kind: comfyui, hosts: [] }\n');
    const r = spawnSync(process.execPath, [MAIN, '--check-config', file], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('server.port');
    expect(r.stderr).toContain('auth');
    expect(r.stderr).toContain('projects.0.backend.hosts');
  });

  it('refuses to start on tracing settings it cannot honour, saying which, without a stack trace', () => {
    const env = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
    const r = spawnSync(process.execPath, [MAIN, '--port', '0'], { encoding: 'utf8', env, timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/OTLP protocol "grpc" is not supported.*http\/protobuf/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('rejects unknown flags with usage', () => {
    const r = spawnSync(process.execPath, [MAIN, '--bogus'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Usage:/);
  });

  it('starts on a sandbox config, prints the endpoint, projects and job ids, serves the tools, and stops on SIGTERM', async () => {
    const sandbox = await startSandboxProcess();
    children.push(sandbox.child);
    const { out, port, token } = sandbox;
    expect(out).toContain(`http://127.0.0.1:${port}/mcp`);
    for (const p of ['studio-a', 'agents', 'site-x', 'cloud-renders']) expect(out).toContain(p);
    const succeeded = out
      .split('\n')
      .find((l) => l.trim().startsWith('succeeded'))!
      .trim()
      .split(/\s+/)[1]!;

    const client = new Client({ name: 'cli-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    const r = await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'studio-a', job_id: succeeded } });
    expect(r.structuredContent).toMatchObject({ status: 'succeeded', found: true });
    await client.close();

    expect(await sandbox.stop()).toBe(0);
  });

  it("has written every log line when it exits on SIGTERM, the tool call's included", async () => {
    const sandbox = await startSandboxProcess({ LOG_LEVEL: 'info' });
    children.push(sandbox.child);
    let later = '';
    sandbox.child.stdout!.on('data', (d) => (later += d));
    const closed = new Promise((resolve) => sandbox.child.stdout!.once('close', resolve));
    const client = new Client({ name: 'cli-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sandbox.port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${sandbox.token}` } },
      }),
    );
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: 'no-such-job' } });
    await client.close();
    expect(await sandbox.stop()).toBe(0);
    await closed;
    const lines = later
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event?: string; tool?: string; msg?: string });
    expect(lines.some((l) => l.event === 'tool_call' && l.tool === 'get_job_status')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped' });
  });
});
