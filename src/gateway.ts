// createGateway wires one gateway from a config and its dependencies. Nothing lives at module
// level, so a test can run two gateways in one process.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { Config } from './config/schema.ts';
import { isLoopback } from './config/load.ts';
import { createBackend } from './backends/index.ts';
import { createProjectRegistry, type ProjectRegistry } from './jobs/registry.ts';
import { createJobService } from './jobs/job-service.ts';
import { createMcpServer, type ExtraTool } from './mcp/server.ts';
import { createMcpTransport, type McpTransport } from './mcp/transport.ts';
import { createApp } from './http/app.ts';
import { VERSION } from './version.ts';
import type { OAuthConfig } from './config/schema.ts';
import { createTokenVerifier } from './auth/token-verifier.ts';
import { authenticate, requireScopes, type AuthenticatedRequest } from './auth/middleware.ts';
import { metadataHandler, metadataPaths, metadataUrl } from './auth/metadata.ts';
import { principalKey } from './auth/principal.ts';

export interface GatewayDeps {
  logger?: Logger;
  /** Milliseconds since the epoch, for adapters' clocks (tombstones, rate-limit windows). */
  now?: () => number;
  /** Tools served beside the job tools (the conformance profile's fixtures). */
  extraTools?: readonly ExtraTool[];
}

export interface Gateway {
  /** Binds the configured host and port (port 0: any free port). */
  listen(): Promise<{ mcpUrl: string; port: number }>;
  readonly registry: ProjectRegistry;
  /** Stops accepting, ends sessions, closes backend connections. */
  close(): Promise<void>;
}

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? pino({ level: 'info' });
  const registry = createProjectRegistry(
    config.projects.map((p) => ({
      reference: p.reference,
      aliases: p.aliases,
      access: p.access,
      backend: createBackend(p, { defaultTimeoutMs: config.defaults.timeout_ms, ...(deps.now ? { now: deps.now } : {}) }),
    })),
  );
  const service = createJobService(registry, {
    onInternalError: (err, op) => logger.error({ err, tool: op }, 'tool call failed inside the gateway'),
  });
  const validator = new AjvJsonSchemaValidator();
  const transport: McpTransport = createMcpTransport({
    mode: config.server.sessions,
    createServer: () =>
      createMcpServer({ service, validator, info: { name: 'mcp-job-gateway', version: VERSION }, ...(deps.extraTools ? { extraTools: deps.extraTools } : {}) }),
    idleTimeoutMs: config.server.session_idle_timeout_seconds * 1000,
    maxSessions: config.server.max_sessions,
    logger,
    ...(deps.now ? { now: deps.now } : {}),
    principalOf: (req) => {
      const p = (req as AuthenticatedRequest).principal;
      return p ? principalKey(p) : 'anonymous';
    },
  });

  let http: HttpServer | undefined;

  return {
    registry,
    async listen() {
      // Room for long headers, so an oversized token gets a 401 from us rather than Node's 431.
      const server = createServer({ maxHeaderSize: 64 * 1024 });
      http = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.server.port, config.server.host, () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      const s = config.server;
      const urlHost = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host.includes(':') ? `[${s.host}]` : s.host;
      const mcpUrl = s.public_url ?? `http://${urlHost}:${port}${s.path}`;
      const loopback = isLoopback(s.host);
      const loopbackNames = ['localhost', '127.0.0.1', '[::1]'];
      const allowedHosts = s.allowed_hosts.length > 0 ? s.allowed_hosts : loopback ? loopbackNames : [new URL(mcpUrl).hostname];
      // Same-origin requests are always fine; on loopback so are the loopback spellings of our origin.
      const allowedOrigins = [...s.allowed_origins, new URL(mcpUrl).origin, ...(loopback ? loopbackNames.map((h) => `http://${h}:${port}`) : [])];
      const auth = config.auth.mode === 'oauth' ? authFor(config.auth, mcpUrl, logger) : undefined;
      const app = createApp({ mcpPath: s.path, allowedHosts, allowedOrigins, maxBodyBytes: s.max_body_bytes, transport, logger, ...(auth ? { auth } : {}) });
      server.on('request', app);
      return { mcpUrl, port };
    },
    async close() {
      if (http) {
        const server = http;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await transport.close(); // ends sessions and their open SSE streams
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(timer);
      } else {
        await transport.close();
      }
      await registry.close();
    },
  };
}

/** The resource-server parts for one gateway: verifier, middlewares and protected-resource metadata. */
function authFor(config: OAuthConfig, resource: string, logger: Logger) {
  const audience = config.audience === undefined ? [resource] : [config.audience].flat();
  const options = { verifier: createTokenVerifier(config, audience), metadataUrl: metadataUrl(resource), scopes: config.scopes, logger };
  return {
    authenticate: authenticate(options),
    requireScopes: requireScopes(options),
    metadataPaths: metadataPaths(resource),
    metadata: metadataHandler({
      resource,
      authorization_servers: config.authorization_servers ?? config.issuers.map((i) => i.issuer),
      // The minimal set for basic use; cancel is asked for by step-up.
      scopes_supported: [config.scopes.read, config.scopes.cancel],
      bearer_methods_supported: ['header'],
      resource_name: 'mcp-job-gateway',
    }),
  };
}
