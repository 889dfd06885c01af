// Starts the real sandbox (config/sandbox.yaml, its simulations on free ports) and a gateway on it,
// and connects SDK clients: the way every end-to-end test meets the gateway.
import { pino } from 'pino';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { BACKEND_KINDS, type BackendKind } from '../../src/backends/registry.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createGateway, type Gateway, type GatewayDeps } from '../../src/gateway.ts';
import { ManualClock } from '../../src/simulation/clock.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/runner.ts';
import type { SeedState } from '../../src/simulation/simulation.ts';
import type { MintOptions } from '../../src/sandbox/issuer.ts';

export interface TestGateway {
  mcpUrl: string;
  /** The port the gateway listens on (mcpUrl may name a proxy instead). */
  port: number;
  /** Base URL of the admin listener (metrics, health). */
  adminUrl: string;
  gateway: Gateway;
  sandbox: Sandbox;
  /** The simulations' clock. The gateway's own is `deps.clock` (GatewayDeps), the system's unless given. */
  clock: ManualClock;
  /** A token with both scopes and every project (undefined with authOff). */
  token: string | undefined;
  /** Mints a token from the sandbox issuer for this gateway's audience. */
  mint(options?: Partial<MintOptions>): Promise<string>;
  /** A connected SDK client (with `token` unless another is given); closed by close(). */
  client(options?: { token?: string; headers?: Record<string, string> }): Promise<Client>;
  /** A connected SDK v2 client pinned to MCP 2026-07-28 (no initialize, the per-request envelope). */
  modernClient(options?: { token?: string; headers?: Record<string, string> }): Promise<ModernClient>;
  /** Calls a tool and returns its result (tool errors included). */
  call(client: Client, name: string, args: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Edits the sandbox config (after its ports are made free ones) before the gateway starts. */
  configure?: (config: Config) => Config;
  deps?: GatewayDeps;
  /** Runs with `auth: none` (loopback), for tests about other layers and the conformance suite. */
  authOff?: boolean;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const clock = new ManualClock();
  const sandbox = await startSandbox(loadConfigFile('config/sandbox.yaml'), { ephemeralPorts: true, clock });
  // The clock is manual, so per-caller budgets would never refill: tests about other layers get a
  // generous one (test/mcp/caller-rate-limit.test.ts covers the limiter itself).
  const server = { ...sandbox.config.server, port: 0, caller_rate_limit: { enabled: true, per_second: 1000, burst: 100_000 } };
  let config: Config = { ...sandbox.config, server, admin: { ...sandbox.config.admin, port: 0 }, sandbox: undefined };
  if (options.authOff) config = { ...config, auth: { mode: 'none' } };
  if (options.configure) config = options.configure(config);
  const gateway = createGateway(config, { logger: pino({ level: 'silent' }), ...options.deps });
  const { mcpUrl, port, adminUrl } = await gateway.listen();
  const clients: { close(): Promise<void> }[] = [];
  const mint = async (o: Partial<MintOptions> = {}) => {
    if (!sandbox.issuer) throw new Error('the sandbox config starts no issuer');
    return sandbox.issuer.mint({ audience: mcpUrl, scopes: ['jobs:read', 'jobs:cancel'], ...o });
  };
  const token = config.auth.mode === 'oauth' ? await mint() : undefined;
  return {
    mcpUrl,
    port,
    adminUrl: adminUrl!,
    gateway,
    sandbox,
    clock,
    token,
    mint,
    async client(clientOptions = {}) {
      const client = new Client({ name: 'test-agent', version: '1.0.0' });
      const bearer = clientOptions.token ?? token;
      const headers = { ...clientOptions.headers, ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) };
      const requestInit = Object.keys(headers).length ? { headers } : undefined;
      await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), requestInit ? { requestInit } : undefined));
      clients.push(client);
      return client;
    },
    async modernClient(clientOptions = {}) {
      const client = new ModernClient({ name: 'test-agent', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      const bearer = clientOptions.token ?? token;
      const headers = { ...clientOptions.headers, ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) };
      const requestInit = Object.keys(headers).length ? { headers } : undefined;
      await client.connect(new ModernTransport(new URL(mcpUrl), requestInit ? { requestInit } : undefined));
      clients.push(client);
      return client;
    },
    async call(client, name, args, callOptions = {}) {
      return (await client.callTool(
        { name, arguments: args },
        undefined,
        callOptions.signal ? { signal: callOptions.signal } : undefined,
      )) as CallToolResult;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await gateway.close();
      await sandbox.close();
    },
  };
}

/**
 * Waits at test speed: short maximum, heartbeats and polls every few tens of milliseconds, for every
 * kind of the registry (agent-jobs every 0.1 s: test/e2e/waits.test.ts counts its reads per interval).
 */
export function fastWaits(maxSeconds: number): Config['waits'] {
  const interval = (kind: BackendKind) => (kind === 'agent_jobs' ? 0.1 : 0.05);
  return {
    max_seconds: maxSeconds,
    heartbeat_seconds: 0.05,
    max_per_caller: 20,
    task_max_seconds: 86_400,
    task_keep_seconds: 3600,
    max_tasks_per_caller: 100,
    max_tasks: 20_000,
    poll_interval_seconds: Object.fromEntries(BACKEND_KINDS.map((kind) => [kind, interval(kind)])) as Record<BackendKind, number>,
  };
}

/** A project's seeded job id in a given starting state. */
export function seed(t: TestGateway, project: string, state: SeedState, index = 0): string {
  const ids = t.sandbox.seedsByProject.get(project)?.[state];
  const id = ids?.[index];
  if (!id) throw new Error(`the sandbox seeds no ${state} job #${index} for ${project}`);
  return id;
}

/** Job reads of a backend kind the gateway has had an answer to (the backend-request metric). */
export async function answeredReads(t: TestGateway, kind: BackendKind): Promise<number> {
  const text = await t.gateway.metrics.registry.getSingleMetricAsString('mcp_job_gateway_backend_requests_total');
  let n = 0;
  for (const line of text.split('\n'))
    if (line.includes(`backend_kind="${kind}"`) && line.includes('operation="get_job"')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}
