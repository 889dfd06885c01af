// Several gateway replicas as an operator runs them: `node src/main.ts --config FILE` processes, each with
// its own ports, all on one shared state store (`state.store: redis`, its URL from ${env:…} as a chart
// would give it) and one set of sandbox simulations, started once here in the test process on free
// ports. Tokens come from the sandbox issuer with one audience that every replica accepts, so a caller
// is the same caller whichever replica answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/runner.ts';
import { REPO_ROOT } from '../../scripts/tools/install.ts';
import { freePort } from '../../scripts/tools/ports.ts';

/** The audience of every token and every replica (`auth.audience`): one service, several processes. */
export const REPLICA_AUDIENCE = 'https://jobs.replicas.test/mcp';
/** The environment variable the replicas read the store's URL from (`state.url: ${env:…}`). */
export const STATE_URL_ENV = 'MCP_JOB_GATEWAY_STATE_URL';

/** A config document as written to the replicas' file: plain YAML data. */
export type ConfigDocument = Record<string, any>;

export interface ToolAnswer {
  [key: string]: unknown;
  error?: { code: string; message: string; retry_after_seconds?: number };
}

export interface Replica {
  readonly name: string;
  readonly mcpUrl: string;
  readonly adminUrl: string;
  readonly child: ChildProcess;
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** What the process printed (stdout and stderr, the last 500 000 characters). */
  output(): string;
  /** How many log lines with this `event` the process has printed so far (counted whole, never cut). */
  events(event: string): number;
  /** A connected MCP client with this bearer token; closed by Replicas.close(). */
  client(token: string): Promise<Client>;
  /** The value of an unlabelled metric on this replica's /metrics; undefined when absent. */
  metric(name: string): Promise<number | undefined>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface Replicas {
  readonly sandbox: Sandbox;
  readonly replicas: readonly Replica[];
  /** The config document each replica runs (before the per-replica ports). */
  readonly config: ConfigDocument;
  /** A token for REPLICA_AUDIENCE with both scopes and every project; `subject` names the caller. */
  mint(subject: string): Promise<string>;
  close(): Promise<void>;
}

export interface ReplicasOptions {
  /** The store's URL, handed to every replica in STATE_URL_ENV. */
  stateUrl: string;
  /** How many gateway processes (default 2). */
  count?: number;
  /** `state.key_prefix` (default: one per call, so runs never see each other's keys). */
  keyPrefix?: string;
  /** Edits the config document (after the sandbox's ports are made free ones). */
  configure?: (config: ConfigDocument, sandbox: Sandbox) => ConfigDocument;
}

const READY_TIMEOUT_MS = 20_000;

export async function startReplicas(options: ReplicasOptions): Promise<Replicas> {
  const sandbox = await startSandbox(loadConfigFile(join(REPO_ROOT, 'config', 'sandbox.yaml')), { ephemeralPorts: true });
  if (!sandbox.issuer) throw new Error('config/sandbox.yaml starts no issuer');
  const issuer = sandbox.issuer;
  const dir = mkdtempSync(join(tmpdir(), 'replicas-'));
  const started: Replica[] = [];
  const clients: Client[] = [];
  try {
    const { sandbox: _simulations, ...base } = sandbox.config;
    let config: ConfigDocument = {
      ...base,
      auth: { ...base.auth, audience: REPLICA_AUDIENCE },
      state: {
        store: 'redis',
        url: `\${env:${STATE_URL_ENV}}`,
        key_prefix: options.keyPrefix ?? `mcp-job-gateway-test-${process.pid}-${Date.now()}:`,
      },
    };
    if (options.configure) config = options.configure(config, sandbox);
    const count = options.count ?? 2;
    for (let i = 0; i < count; i++) {
      const name = String.fromCharCode(65 + i); // A, B, …
      started.push(await startReplica(name, config, dir, options.stateUrl, clients));
    }
    return {
      sandbox,
      replicas: started,
      config,
      mint: (subject) => issuer.mint({ audience: REPLICA_AUDIENCE, scopes: ['jobs:read', 'jobs:cancel'], subject }),
      async close() {
        await Promise.allSettled(clients.map((c) => c.close()));
        await Promise.allSettled(started.map((r) => r.stop()));
        await sandbox.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await Promise.allSettled(started.map((r) => r.stop()));
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function startReplica(name: string, base: ConfigDocument, dir: string, stateUrl: string, clients: Client[]): Promise<Replica> {
  const port = await freePort();
  const adminPort = await freePort();
  const config = {
    ...base,
    server: { ...base.server, host: '127.0.0.1', port },
    admin: { ...base.admin, enabled: true, host: '127.0.0.1', port: adminPort },
  };
  const file = join(dir, `replica-${name}.yaml`);
  writeFileSync(file, stringify(config));
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', [STATE_URL_ENV]: stateUrl };
  delete env.PORT; // would override the config's port
  const child = spawn(process.execPath, ['src/main.ts', '--config', file], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let partial = '';
  const counts = new Map<string, number>();
  const collect = (d: Buffer) => {
    const text = d.toString();
    out += text;
    if (out.length > 1_000_000) out = out.slice(-500_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const event = /"event":"([^"]+)"/.exec(line)?.[1];
      if (event) counts.set(event, (counts.get(event) ?? 0) + 1);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const mcpUrl = `http://127.0.0.1:${port}${config.server.path ?? '/mcp'}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;

  // Ready: the start-up output is printed and /readyz answers 200 (the issuer's keys are fetched).
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`replica ${name} exited (${child.exitCode ?? child.signalCode}) while starting:\n${out.slice(-4000)}`);
    if (/is serving/.test(out)) {
      const ready = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`replica ${name} was not ready after ${READY_TIMEOUT_MS / 1000} s:\n${out.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    name,
    mcpUrl,
    adminUrl,
    child,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    output: () => out,
    events: (event) => counts.get(event) ?? 0,
    async client(token) {
      const client = new Client({ name: `test-agent-via-${name}`, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
      );
      clients.push(client);
      return client;
    },
    async metric(metricName) {
      const text = await (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      const m = new RegExp(`^${metricName}(?:\\{\\})? (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    },
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      return exited.finally(() => clearTimeout(timer));
    },
  };
}

/** Calls a tool; resolves with its structured answer (a tool error included, as `error`). */
export async function callTool(
  client: Client,
  name: 'get_job_status' | 'cancel_job' | 'list_jobs',
  args: Record<string, unknown>,
): Promise<ToolAnswer> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return result.structuredContent ?? {};
}
