// Prometheus metrics, one registry per gateway (two gateways in one process never share counters).
// Label values are bounded: tool names, configured backend names and kinds, outcome words, fixed
// operation names, status classes and auth-failure reasons; never a job id, subject or URL.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BackendCallObserver } from '../backends/http/http-client.ts';
import { BoundCounter, BoundHistogram } from './bound-series.ts';

const PREFIX = 'mcp_job_gateway_';
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface BackendLabels {
  kind: string;
  name: string;
}

/** What the per-backend health view shows, from the calls the gateway made (no probing). */
export interface BackendHealth {
  backend: string;
  kind: string;
  state: 'up' | 'down' | 'unknown';
  last_success: string | null;
  last_failure: string | null;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  toolCall(tool: string, backend: BackendLabels | undefined, outcome: string, seconds: number): void;
  /** One MCP message served (the semantic conventions' mcp.server.operation.duration); every value is a bounded word. */
  mcpOperation(
    method: string,
    tool: string | undefined,
    protocolVersion: string | undefined,
    errorType: string | undefined,
    seconds: number,
  ): void;
  backendObserver(backend: BackendLabels): BackendCallObserver;
  authFailure(reason: string): void;
  /** Counts a request in flight until the returned function is called. */
  requestStarted(): () => void;
  /** One client connection closed as it was accepted, at server.max_connections. */
  connectionRefused(): void;
  backendHealth(): BackendHealth[];
  /** Whether the state store answers (always true with `store: memory`). */
  stateStoreUp(up: boolean): void;
  /** One MCP task created, completed or cancelled (its polls are MCP operations: tasks/get). */
  task(tool: string, event: 'created' | 'completed' | 'cancelled'): void;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges with a `_total` suffix, which Prometheus reserves for counters
    // (promtool check metrics objects); they add nothing the process and heap metrics don't show.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      registry.removeSingleMetric(name);
  }

  // The metrics every call updates are bound series (bound-series.ts); the rarer ones are prom-client's.
  const toolCalls = new BoundCounter(
    `${PREFIX}tool_calls_total`,
    'Tool calls by tool, backend and outcome (a status, a cancel outcome or an error code).',
    ['tool', 'backend_kind', 'backend', 'outcome'],
    registry,
  );
  const toolDuration = new BoundHistogram(
    `${PREFIX}tool_call_duration_seconds`,
    'Time to answer a tool call, in seconds.',
    ['tool', 'backend_kind', 'backend'],
    LATENCY_BUCKETS,
    registry,
  );
  // The MCP semantic conventions' histogram, named as OpenTelemetry's Prometheus exporter names it.
  const mcpDuration = new BoundHistogram(
    'mcp_server_operation_duration_seconds',
    'MCP request or notification duration as observed on the receiver, from the parsed body until the response is sent (OpenTelemetry mcp.server.operation.duration).',
    ['mcp_method_name', 'gen_ai_tool_name', 'mcp_protocol_version', 'error_type'],
    LATENCY_BUCKETS,
    registry,
  );
  const mcpChildren = new Map<string, { observe(v: number): void }>();
  let lastMcp:
    | {
        method: string;
        tool: string | undefined;
        version: string | undefined;
        error: string | undefined;
        child: { observe(v: number): void };
      }
    | undefined;
  // The `operation` label carries a backend call's action (get_job, cancel_job, …); the label keeps
  // its name because dashboards and alerts query it.
  const backendRequests = new BoundCounter(
    `${PREFIX}backend_requests_total`,
    'HTTP requests to backends by operation and status class (error: no answer).',
    ['backend_kind', 'backend', 'operation', 'status_class'],
    registry,
  );
  const backendDuration = new BoundHistogram(
    `${PREFIX}backend_request_duration_seconds`,
    'Duration of HTTP requests to backends, in seconds.',
    ['backend_kind', 'backend', 'operation'],
    LATENCY_BUCKETS,
    registry,
  );
  const backendUp = new Gauge({
    name: `${PREFIX}backend_up`,
    help: 'Whether the last request to a backend got an answer other than 5xx (1) or not (0).',
    labelNames: ['backend_kind', 'backend'] as const,
    registers: [registry],
  });
  const authFailures = new Counter({
    name: `${PREFIX}auth_failures_total`,
    help: 'Requests refused by authentication or authorization, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const storeUp = new Gauge({
    name: `${PREFIX}state_store_up`,
    help: 'Whether the state store answers (1) or not (0: each replica answers from its own memory); 1 with store: memory.',
    registers: [registry],
  });
  storeUp.set(1);
  // A plain count read at scrape time: cheaper than a gauge update on every request's start and end.
  let inFlight = 0;
  new Gauge({
    name: `${PREFIX}http_requests_in_flight`,
    help: 'MCP HTTP requests being served.',
    registers: [registry],
    collect() {
      this.set(inFlight);
    },
  });

  const tasks = new Counter({
    name: `${PREFIX}tasks_total`,
    help: 'MCP tasks by tool and event: created (a wait answered as a task), completed (its wait ended), cancelled (tasks/cancel).',
    labelNames: ['tool', 'event'] as const,
    registers: [registry],
  });

  const connectionsRefused = new Counter({
    name: `${PREFIX}connections_refused_total`,
    help: 'Client connections closed as they were accepted, because the replica held server.max_connections.',
    registers: [registry],
  });

  // Times are kept as numbers and formatted when read, not on every call (see docs/performance.md).
  const health = new Map<
    string,
    { backend: string; kind: string; state: BackendHealth['state']; last_success: number | null; last_failure: number | null }
  >();
  // Label sets are few and bounded; the series of each is bound once and found again by a joined key.
  type ToolChild = { calls: { inc(): void }; duration: { observe(v: number): void } };
  const children = new Map<string, ToolChild>();
  let lastTool: { tool: string; outcome: string; kind: string; name: string; child: ToolChild } | undefined;

  return {
    registry,
    toolCall(tool, backend, outcome, seconds) {
      const kind = backend?.kind ?? 'none';
      const name = backend?.name ?? 'none';
      // As for mcpOperation: compare with the previous call's labels before building a lookup key.
      let child =
        lastTool?.tool === tool && lastTool.outcome === outcome && lastTool.kind === kind && lastTool.name === name
          ? lastTool.child
          : undefined;
      if (!child) {
        const key = `${tool}\u0000${outcome}\u0000${kind}\u0000${name}`;
        child = children.get(key);
        if (!child) {
          child = {
            calls: toolCalls.bind({ tool, outcome, backend_kind: kind, backend: name }),
            duration: toolDuration.bind({ tool, backend_kind: kind, backend: name }),
          };
          children.set(key, child);
        }
        lastTool = { tool, outcome, kind, name, child };
      }
      child.calls.inc();
      child.duration.observe(seconds);
    },
    mcpOperation(method, tool, protocolVersion, errorType, seconds) {
      // Calls mostly repeat the previous one's labels: compare them before building a lookup key.
      let child =
        lastMcp?.method === method && lastMcp.tool === tool && lastMcp.version === protocolVersion && lastMcp.error === errorType
          ? lastMcp.child
          : undefined;
      if (!child) {
        const key = `${method}\u0000${tool ?? ''}\u0000${protocolVersion ?? ''}\u0000${errorType ?? ''}`;
        child = mcpChildren.get(key);
        if (!child) {
          child = mcpDuration.bind({
            mcp_method_name: method,
            gen_ai_tool_name: tool ?? '',
            mcp_protocol_version: protocolVersion ?? '',
            error_type: errorType ?? '',
          });
          mcpChildren.set(key, child);
        }
        lastMcp = { method, tool, version: protocolVersion, error: errorType, child };
      }
      child.observe(seconds);
    },
    backendObserver(backend) {
      const labels = { backend_kind: backend.kind, backend: backend.name };
      const entry = {
        backend: backend.name,
        kind: backend.kind,
        state: 'unknown' as BackendHealth['state'],
        last_success: null as number | null,
        last_failure: null as number | null,
      };
      health.set(backend.name, entry);
      const up = backendUp.labels(labels);
      const byCall = new Map<string, { requests: { inc(): void }; duration: { observe(v: number): void } }>();
      return ({ action, statusClass, seconds }) => {
        const key = `${action}\u0000${statusClass}`;
        let child = byCall.get(key);
        if (!child) {
          child = {
            requests: backendRequests.bind({ ...labels, operation: action, status_class: statusClass }),
            duration: backendDuration.bind({ ...labels, operation: action }),
          };
          byCall.set(key, child);
        }
        child.requests.inc();
        child.duration.observe(seconds);
        const ok = statusClass !== 'error' && statusClass !== '5xx';
        const state = ok ? 'up' : 'down';
        if (entry.state !== state) up.set(ok ? 1 : 0); // only on a change: it is set on every call otherwise
        entry.state = state;
        entry[ok ? 'last_success' : 'last_failure'] = Date.now();
      };
    },
    authFailure(reason) {
      authFailures.inc({ reason });
    },
    requestStarted() {
      inFlight++;
      let done = false;
      return () => {
        if (!done) inFlight--;
        done = true;
      };
    },
    connectionRefused() {
      connectionsRefused.inc();
    },
    task(tool, event) {
      tasks.inc({ tool, event });
    },
    stateStoreUp(up) {
      storeUp.set(up ? 1 : 0);
    },
    backendHealth: () => [...health.values()].map((h) => ({ ...h, last_success: iso(h.last_success), last_failure: iso(h.last_failure) })),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
