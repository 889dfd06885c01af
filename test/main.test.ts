// The command line as a user runs it: node src/main.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
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
    expect(r.stdout).toMatch(/valid \(7 projects\)/);
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

  /** `node src/main.ts ARGS` with its own cache folder; resolves at the end of the start-up output, or with the exit code and stderr. */
  async function run(args: string[]): Promise<{ child: ChildProcess; out: string } | { code: number | null; err: string }> {
    const { PORT: _port, ...env } = process.env; // the MCP port comes from the arguments only
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...env, LOG_LEVEL: 'warn', XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'cache-')) },
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    return new Promise((resolve) => {
      child.stdout!.on('data', () => /--tool-arg job_id=.*\n/.test(out) && resolve({ child, out }));
      child.once('exit', (code) => resolve({ code, err }));
    });
  }

  // Offsets and held ports keep every sandbox port between 9000 and 32767, below the range the
  // system hands out for free ports (which the tests running beside these take): only a service of
  // this machine can be in the way, and a new choice answers that.
  const randomOffset = () => 1_000 + Math.floor(Math.random() * 13_000);

  /** Holds a free port between min and max. */
  async function holdPort(min: number, max: number): Promise<{ port: number; server: Server }> {
    for (;;) {
      const port = min + Math.floor(Math.random() * (max - min));
      const server = createServer();
      const held = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (held) return { port, server };
    }
  }

  /** What stderr says when the sandbox is started with `args(port)` while `port` (held between min and max) is taken. */
  async function refusedOn(min: number, max: number, args: (port: number) => string[]): Promise<{ port: number; err: string }> {
    for (let attempt = 1; ; attempt++) {
      const held = await holdPort(min, max);
      try {
        const r = await run(args(held.port));
        const err = 'err' in r ? r.err : '';
        expect('code' in r && r.code, err).toBe(1);
        // Another port of the machine in the way: a new choice.
        if (attempt < 3 && !err.includes(`127.0.0.1:${held.port} `)) continue;
        return { port: held.port, err };
      } finally {
        held.server.close();
      }
    }
  }

  it('--port-offset moves every port of the sandbox: the start-up output shows them, and the moved issuer and backends answer', async () => {
    let started;
    let offset = 0;
    for (let attempt = 1; attempt <= 3 && !(started && 'out' in started); attempt++) {
      offset = randomOffset();
      started = await run(['--port-offset', String(offset)]);
    }
    if (!started || !('out' in started)) throw new Error(`did not start: ${JSON.stringify(started)}`);
    const { out, child } = started;
    const mcpUrl = `http://127.0.0.1:${8080 + offset}/mcp`;
    expect(out).toContain(`MCP endpoint: ${mcpUrl}`);
    expect(out).toContain(`admin:        http://127.0.0.1:${9090 + offset}/metrics`);
    expect((await fetch(`http://127.0.0.1:${9090 + offset}/readyz`)).status).toBe(200);
    // The gateway sends clients to the moved issuer, and trusts the tokens it signs.
    const metadata = (await (await fetch(`http://127.0.0.1:${8080 + offset}/.well-known/oauth-protected-resource/mcp`)).json()) as {
      authorization_servers: string[];
    };
    expect(metadata.authorization_servers).toEqual([`http://127.0.0.1:${18180 + offset}`]);
    const token = /jobs:read jobs:cancel\s+(\S+)/.exec(out)![1]!;
    const client = new Client({ name: 'cli-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
    );
    try {
      // One seeded job of each project, each on its moved simulated backend.
      let project = '';
      const answered: string[] = [];
      for (const line of out.split('\n')) {
        project = /^ {4}(\S+) {2}\(/.exec(line)?.[1] ?? project;
        const id = /^ {6}succeeded\s+(\S+)/.exec(line)?.[1];
        if (id === undefined) continue;
        const r = await client.callTool({ name: 'get_job_status', arguments: { project_reference: project, job_id: id } });
        expect(r.structuredContent, project).toMatchObject({ status: 'succeeded', found: true });
        answered.push(project);
      }
      expect(answered).toEqual(['studio-a', 'agents', 'site-x', 'cloud-renders', 'predictions', 'flux', 'gpu-workers']);
    } finally {
      await client.close();
    }
    child.kill('SIGTERM');
  });

  it('names the port that is taken and the setting that owns it, and how to move them all', async () => {
    for (const [base, setting] of [
      [9090, 'admin.port'],
      [18189, 'sandbox.services[2] (comfyui)'],
    ] as const) {
      const { port, err } = await refusedOn(base + 1_000, base + 14_000, (p) => ['--port-offset', String(p - base)]);
      expect(err).toContain(`cannot listen on 127.0.0.1:${port} (EADDRINUSE: in use), the port of ${setting} in `);
      expect(err).toContain(`config/sandbox.yaml moved by --port-offset ${port - base}`);
      expect(err).toContain('move every sandbox port with --port-offset N');
      expect(err).not.toMatch(/\n\s+at /);
    }
  });

  it('says the MCP port was chosen by --port when that is the one taken', async () => {
    const offset = randomOffset();
    const { port, err } = await refusedOn(9_000, 32_000, (p) => ['--port-offset', String(offset), '--port', String(p)]);
    expect(err).toContain(`cannot listen on 127.0.0.1:${port} (EADDRINUSE: in use), the port of the MCP port (--port)`);
    expect(err).toContain('choose another MCP port with --port or PORT');
  });
});
