// createGateway wires one gateway from a config and its dependencies. Nothing lives at module
// level, so a test can run two gateways in one process.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import type { Config, OAuthConfig } from './config/schema.ts';
import { isLoopback } from './config/load.ts';
import { createBackend } from './backends/registry.ts';
import { createProjectRegistry, type ProjectRegistry } from './jobs/registry.ts';
import { createJobService } from './jobs/job-service.ts';
import { createWaitHub, readOpenFilesLimit, waitConfigOf } from './jobs/waits.ts';
import { createSystemClock, type Clock } from './jobs/clock.ts';
import { createToolDispatcher, type ExtraTool } from './mcp/dispatch.ts';
import { createServerFactory } from './mcp/server.ts';
import { createTaskService } from './mcp/tasks/task-service.ts';
import { createTaskStore } from './mcp/tasks/task-store.ts';
import { createMcpEndpoint } from './mcp/endpoint.ts';
import { createApp } from './http/app.ts';
import { limitConnections, maxConnectionsFor } from './http/connection-limit.ts';
import { createAdminApp } from './http/admin.ts';
import { createRequestContextStore } from './http/request-context.ts';
import { createCallerRateLimit } from './mcp/caller-rate-limit.ts';
import { createStateStore } from './state/create-store.ts';
import { createTokenVerifier, type TokenVerifier } from './auth/token-verifier.ts';
import { authenticate, requireScopes } from './auth/middleware.ts';
import { createCallerFactory } from './auth/caller.ts';
import type { Principal } from './auth/principal.ts';
import type { Caller } from './jobs/caller.ts';
import { metadataHandler, metadataPaths, metadataUrl } from './auth/metadata.ts';
import { createMetrics, type GatewayMetrics } from './observability/metrics.ts';
import { createLogger } from './observability/logger.ts';
import { createAuditLog } from './observability/audit.ts';
import { backendFailureLogger, toolCallRecorder } from './observability/tool-calls.ts';
import { taskRecorder } from './observability/tasks.ts';
import { createOperationTracker, type OperationHandle } from './observability/mcp-operations.ts';
import { startTracing, tracingSettings, type Tracing } from './observability/tracing.ts';
import { VERSION } from './version.ts';

export interface GatewayDeps {
  logger?: Logger;
  /** A metrics registry of its own is made when none is given. */
  metrics?: GatewayMetrics;
  /**
   * The gateway's time and timers, the system's when none is given: the waits (polls, deadlines,
   * heartbeats, waited_seconds) and what adapters time (ComfyUI tombstones and their expiry). The
   * budgets (rate-limiter-flexible), the circuit breakers (cockatiel) and token checks (jose) read the
   * global Date instead: those libraries offer no clock to inject (docs/architecture.md, Waits and coalescing).
   */
  clock?: Clock;
  /** Tools served beside the job tools (the conformance profile's fixtures). */
  extraTools?: readonly ExtraTool[];
  /** The environment the OTEL_* variables are read from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Tracing to use instead of the one the settings start (tests keep spans in memory); only when tracing is on. */
  tracing?: Tracing;
}

export interface ListenResult {
  mcpUrl: string;
  port: number;
  /** Base URL of the admin listener (metrics, health), when enabled. */
  adminUrl: string | undefined;
}

export interface Gateway {
  /** Binds the configured hosts and ports (port 0: any free port). */
  listen(): Promise<ListenResult>;
  readonly registry: ProjectRegistry;
  readonly metrics: GatewayMetrics;
  /**
   * Graceful stop: readiness turns false, new connections are refused, in-flight calls get up to
   * `graceMs` (default server.shutdown_grace_seconds) to finish, then the rest are aborted and connections close.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** How long start-up waits for the state store's first answer. */
const STORE_START_WAIT_MS = 2_000;

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? createLogger();
  const metrics = deps.metrics ?? createMetrics();
  const audit = createAuditLog(logger, config.audit.file);
  // One store per gateway (two gateways in one process share nothing unless they share a Redis).
  const state = createStateStore(config.state, { logger, onHealth: (up) => metrics.stateStoreUp(up) });
  const context = createRequestContextStore<OperationHandle>();
  // Read now, so a setting the gateway cannot honour stops it at start; the SDK loads in listen().
  const traceSettings = tracingSettings(config.tracing, deps.env ?? process.env);
  let tracing: Tracing | undefined;
  const clock = deps.clock ?? createSystemClock();
  const registry = createProjectRegistry(
    config.projects.map((p) => ({
      reference: p.reference,
      aliases: p.aliases,
      description: p.description,
      pollIntervalMs: config.waits.poll_interval_seconds[p.backend.kind] * 1000,
      backend: createBackend(p, {
        defaultTimeoutMs: config.defaults.timeout_ms,
        clock,
        state,
        observerFor: (b) => metrics.backendObserver(b),
        // A backend call's span is a child of the server span of the MCP request it serves.
        // (With tracing off there is no tracer: the HTTP client then computes no route for a span.)
        ...(traceSettings
          ? {
              tracerFor: (backend: { kind: string; name: string }) => (req: { method: string; template: string; origin: URL }) =>
                tracing?.startClient(context.getStore()?.operation?.span, { ...req, backend }),
            }
          : {}),
      }),
    })),
  );
  const waits = createWaitHub(waitConfigOf(config.waits), clock);
  const service = createJobService(
    registry,
    {
      onInternalError: (err, tool, requestId) => logger.error({ err, tool, request_id: requestId }, 'tool call failed inside the gateway'),
      onBackendError: backendFailureLogger(logger, traceSettings ? () => context.getStore()?.operation?.span?.ids : undefined),
    },
    { waits, now: () => clock.now() },
  );
  const validator = new AjvJsonSchemaValidator();
  const operationOf = () => context.getStore()?.operation;
  const traceIds = () => operationOf()?.span?.ids;
  const recordToolCall = toolCallRecorder({ metrics, logger, audit, ...(traceSettings ? { traceIds } : {}) });
  const onToolCall: typeof recordToolCall = (e) => {
    recordToolCall(e);
    const operation = operationOf();
    if (!operation || (!operation.span && !e.result.isError)) return; // without a span only a tool error matters
    const body = e.result.structuredContent as
      { project_reference?: string; backend?: { name: string; kind: string }; error?: { code?: string } } | undefined;
    operation.toolResult({
      project: body?.project_reference,
      backend: body?.backend,
      errorCode: e.result.isError ? (body?.error?.code ?? 'INTERNAL') : undefined,
      arguments: traceSettings?.recordArguments && e.arguments ? JSON.stringify(e.arguments).slice(0, 2000) : undefined,
    });
  };
  const limits = config.server.caller_rate_limit;
  const rateLimit = limits.enabled ? createCallerRateLimit(state, { perSecond: limits.per_second, burst: limits.burst }) : undefined;
  const info = { name: 'mcp-job-gateway', version: VERSION };
  const requestId = () => context.getStore()?.requestId;
  const trackOperation = createOperationTracker({ metrics, tracing: () => tracing });
  const dispatcher = createToolDispatcher({
    service,
    limits: { maxWaitSeconds: config.waits.max_seconds, maxTaskWaitSeconds: config.waits.task_max_seconds },
    onToolCall,
    rateLimit,
    extraTools: deps.extraTools,
  });
  const w = config.waits;
  const tasks = createTaskService({
    dispatcher,
    service,
    store: createTaskStore(state, {
      now: () => clock.now(),
      maxTasks: w.max_tasks,
      maxAgeMs: (w.task_max_seconds + w.task_keep_seconds) * 1000,
    }),
    storeShares: () => state.kind === 'memory' || state.up,
    now: () => clock.now(),
    settings: { maxSeconds: w.task_max_seconds, keepSeconds: w.task_keep_seconds, maxPerCaller: w.max_tasks_per_caller },
    onEvent: taskRecorder({ metrics, logger, ...(traceSettings ? { traceIds } : {}) }),
  });
  const endpoint = createMcpEndpoint({
    dispatcher,
    createServer: createServerFactory({ dispatcher, tasks, info, validator, requestId }),
    info,
    maxBodyBytes: config.server.max_body_bytes,
    logger,
    requestId,
    operation: operationOf,
  });

  let http: HttpServer | undefined;
  let admin: HttpServer | undefined;
  let verifier: TokenVerifier | undefined;
  let draining = false;
  // Calls in progress, which a graceful stop waits for.
  let inFlightCalls = 0;
  let callsDrained: (() => void) | undefined;

  const readiness = () => {
    const checks: Record<string, boolean> = { listening: http?.listening === true, not_draining: !draining };
    if (verifier) checks.signing_keys = verifier.keysAvailable();
    return { ready: Object.values(checks).every(Boolean), checks };
  };

  return {
    registry,
    metrics,
    async listen() {
      // Start-up waits briefly for the store's first answer, so the first calls already share; a store
      // that does not answer is logged loudly and never stops the gateway (nor fails readiness).
      await state.settled(STORE_START_WAIT_MS);
      if (traceSettings) tracing = deps.tracing ?? (await startTracing(traceSettings));
      // Room for long headers, so an oversized token gets a 401 from us rather than Node's 431.
      const server = createServer({ maxHeaderSize: 64 * 1024 });
      // Node's default of 5 s is below the idle timeout of the proxies and load balancers put in front
      // (60 s for most), which then send calls on connections the gateway is closing (502s).
      server.keepAliveTimeout = config.server.keep_alive_timeout_seconds * 1000;
      server.headersTimeout = Math.max(60_000, server.keepAliveTimeout + 1000);
      const maxConnections = config.server.max_connections ?? maxConnectionsFor(readOpenFilesLimit());
      limitConnections(server, maxConnections, {
        refused: () => metrics.connectionRefused(),
        warn: (closed, max) =>
          logger.warn(
            { closed, max_connections: max },
            'client connections closed as they were accepted: the replica holds server.max_connections',
          ),
      });
      http = server;
      const port = await bind(server, config.server.port, config.server.host);
      const s = config.server;
      const urlHost = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host.includes(':') ? `[${s.host}]` : s.host;
      const mcpUrl = s.public_url ?? `http://${urlHost}:${port}${s.path}`;
      const loopback = isLoopback(s.host);
      const loopbackNames = ['localhost', '127.0.0.1', '[::1]'];
      const allowedHosts = s.allowed_hosts.length > 0 ? s.allowed_hosts : loopback ? loopbackNames : [new URL(mcpUrl).hostname];
      // Same-origin requests are always fine; on loopback so are the loopback spellings of our origin.
      const allowedOrigins = [
        ...s.allowed_origins,
        new URL(mcpUrl).origin,
        ...(loopback ? loopbackNames.map((h) => `http://${h}:${port}`) : []),
      ];
      let auth;
      if (config.auth.mode === 'oauth') {
        verifier = createTokenVerifier(config.auth, config.auth.audience === undefined ? [mcpUrl] : [config.auth.audience].flat());
        auth = authParts(config.auth, verifier, mcpUrl, logger, metrics, createCallerFactory(config.projects));
        void verifier.warmUp();
      }
      const onRequest = () => {
        const done = metrics.requestStarted();
        inFlightCalls++;
        return () => {
          done();
          if (--inFlightCalls === 0) callsDrained?.();
        };
      };
      const app = createApp({
        mcpPath: s.path,
        allowedHosts,
        allowedOrigins,
        maxBodyBytes: s.max_body_bytes,
        endpoint,
        logger,
        onRequest,
        context,
        trackOperation,
        ...(auth ? { auth } : {}),
      });
      server.on('request', app);

      let adminUrl: string | undefined;
      if (config.admin.enabled) {
        admin = createServer(createAdminApp({ metrics, readiness }));
        const adminPort = await bind(admin, config.admin.port, config.admin.host);
        adminUrl = `http://${config.admin.host.includes(':') ? `[${config.admin.host}]` : config.admin.host}:${adminPort}`;
      }
      return { mcpUrl, port, adminUrl };
    },
    async close(options = {}) {
      draining = true;
      // Waits end at once with the job's latest status, so they never hold up the stop.
      service.close();
      const graceMs = options.graceMs ?? config.server.shutdown_grace_seconds * 1000;
      if (http) {
        const server = http;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlightCalls > 0) {
          logger.info({ in_flight: inFlightCalls, grace_ms: graceMs }, 'waiting for in-flight calls to finish');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            callsDrained = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        await endpoint.close(); // aborts what the grace period did not finish
        server.closeAllConnections();
        await closed;
      } else {
        await endpoint.close();
      }
      if (admin) {
        const a = admin;
        await new Promise<void>((resolve) => {
          a.close(() => resolve());
          a.closeAllConnections();
        });
      }
      await registry.close();
      await tracing?.shutdown(); // sends the spans still buffered
      await state.close();
      await audit.close();
      // A logger of our own writes asynchronously: flush it, so the last lines survive a stop.
      if (!deps.logger) await new Promise<void>((resolve) => logger.flush(() => resolve()));
    },
  };
}

async function bind(server: HttpServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The resource-server parts for one gateway: middlewares and protected-resource metadata. */
function authParts(
  config: OAuthConfig,
  verifier: TokenVerifier,
  resource: string,
  logger: Logger,
  metrics: GatewayMetrics,
  callerOf: (principal: Principal) => Caller,
) {
  const options = {
    verifier,
    metadataUrl: metadataUrl(resource),
    scopes: config.scopes,
    logger,
    onFailure: (reason: string) => metrics.authFailure(reason),
    callerOf,
  };
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
