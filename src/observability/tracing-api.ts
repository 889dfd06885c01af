// What the rest of the gateway sees of tracing (a small interface, the attribute names of this
// gateway's own) and the settings tracing starts with. A module of its own, so that tracing.ts
// (settings, loading) and tracing-sdk.ts (the OpenTelemetry side, loaded only when tracing is on)
// both build on it without importing each other.
import type { IncomingHttpHeaders } from 'node:http';
import type { BackendCallSpan } from '../backends/http/http-client.ts';

/** Attributes of this gateway's own, beside the conventions' ones. */
export const GATEWAY_ATTRIBUTES = {
  project: 'mcp_job_gateway.project',
  backendName: 'mcp_job_gateway.backend.name',
  backendKind: 'mcp_job_gateway.backend.kind',
  errorCode: 'mcp_job_gateway.error.code',
} as const;

/** Trace and span ids, as the log line and the audit record carry them. */
export interface TraceIds {
  trace_id: string;
  span_id: string;
}

/** What is known of one MCP message when its span starts (mcp-operations.ts reads it from the body). */
export interface McpOperation {
  /** The JSON-RPC method, or `_OTHER` for one this gateway does not know (span names stay bounded). */
  method: string;
  /** A tools/call's tool, when it is one of ours (else `_OTHER`). */
  tool?: string | undefined;
  /** The JSON-RPC id as a string; absent for notifications. */
  jsonrpcId?: string | undefined;
  /** The MCP revision the message claims (header, 2026-07-28 `_meta`, or initialize's params). */
  protocolVersion?: string | undefined;
  /** The request's `params._meta` (2026-07-28 carries `traceparent`/`tracestate` there: SEP-414). */
  meta?: Record<string, unknown> | undefined;
}

/** The server span of one MCP request. */
export interface ServerSpan {
  readonly ids: TraceIds;
  /** Attributes learned while serving (the project and its backend). */
  set(attributes: Record<string, string | number | boolean | undefined>): void;
  /** The request failed: `error.type` (a JSON-RPC code, `tool_error`, an HTTP status) and, for JSON-RPC errors, the code. */
  fail(errorType: string, rpcCode?: string): void;
  end(): void;
}

/** One HTTP request to a backend, as its client span describes it. */
export interface BackendRequest {
  method: string;
  /** The route without ids: `/api/v0/services/agent-jobs/{job_id}`. */
  template: string;
  origin: URL;
  backend: { name: string; kind: string };
}

export interface ClientSpan extends BackendCallSpan {
  /** Adds `traceparent` (and `tracestate`) for the backend. */
  inject(headers: Record<string, string>): void;
  end(summary: { status?: number | undefined; resends: number; errorType?: string | undefined }): void;
}

export interface Tracing {
  startServer(operation: McpOperation, headers: IncomingHttpHeaders): ServerSpan;
  /** A client span under `parent` (the server span of the MCP request the call serves, if any). */
  startClient(parent: ServerSpan | undefined, request: BackendRequest): ClientSpan;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

export type Sampler =
  | { kind: 'always_on' | 'always_off' | 'parentbased_always_on' | 'parentbased_always_off' }
  | { kind: 'traceidratio' | 'parentbased_traceidratio'; ratio: number };

export interface TracingSettings {
  serviceName: string;
  /** The OTLP/HTTP traces URL (…/v1/traces). */
  url: string;
  headers: Record<string, string>;
  sampler: Sampler;
  /** Opt-in: tool arguments (job ids, reasons) as span attributes. */
  recordArguments: boolean;
}
