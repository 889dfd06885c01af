// OpenTelemetry traces, off by default. This file holds what the rest of the gateway sees (a small
// interface) and the settings, read from the config's `tracing` section and the standard OTEL_*
// variables. The OpenTelemetry SDK itself is loaded only when tracing is on (tracing-sdk.ts), so a
// gateway without it pays nothing: no module, no span, no check beyond `tracing === undefined`.
import type { IncomingHttpHeaders } from 'node:http';
import type { TracingConfig } from '../config/schema.ts';
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
  end(outcome: { status?: number | undefined; resends: number; errorType?: string | undefined }): void;
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

const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/**
 * Whether tracing is on, and how: the config's `tracing` section first, then the standard variables.
 * Off unless `tracing.enabled` is true or an OTLP endpoint is set in the environment; OTEL_SDK_DISABLED
 * or OTEL_TRACES_EXPORTER=none turn it off. Throws a sentence for settings it cannot honour.
 */
export function tracingSettings(config: TracingConfig | undefined, env: Record<string, string | undefined>): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true' || config?.enabled === false) return undefined;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return undefined;
  const envTraces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const envBase = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (config?.enabled !== true && !envTraces && !envBase) return undefined;
  if (exporter !== undefined && exporter !== '' && exporter !== 'otlp')
    throw new Error(`OTEL_TRACES_EXPORTER=${exporter} is not supported: the gateway exports traces with OTLP only.`);
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol && protocol !== 'http/protobuf') {
    throw new Error(
      `OTLP protocol "${protocol}" is not supported: the gateway sends OTLP over HTTP with protobuf (http/protobuf); point it at the collector's HTTP port (4318).`,
    );
  }
  const url = config?.endpoint
    ? tracesUrl(config.endpoint)
    : envTraces || (envBase ? tracesUrl(envBase) : 'http://localhost:4318/v1/traces');
  return {
    serviceName: config?.service_name ?? env.OTEL_SERVICE_NAME?.trim() ?? 'mcp-job-gateway',
    url,
    headers: parseHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS),
    sampler: config?.sampler ? samplerOf(config.sampler.type, config.sampler.ratio) : samplerFromEnv(env),
    recordArguments: config?.record_tool_arguments ?? false,
  };
}

/** Loads the OpenTelemetry SDK and starts exporting. */
export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  const { createSdkTracing } = await import('./tracing-sdk.ts');
  return createSdkTracing(settings);
}

/** An OTLP base endpoint as its traces URL (the spec's rule: append /v1/traces). */
function tracesUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function samplerFromEnv(env: Record<string, string | undefined>): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || 'parentbased_always_on';
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  return samplerOf(name, arg === undefined || arg === '' ? undefined : Number(arg));
}

function samplerOf(name: string, ratio: number | undefined): Sampler {
  if (!(SAMPLERS as readonly string[]).includes(name))
    throw new Error(`Unknown trace sampler "${name}"; use one of ${SAMPLERS.join(', ')}.`);
  if (name === 'traceidratio' || name === 'parentbased_traceidratio') {
    const r = ratio ?? 1;
    if (!Number.isFinite(r) || r < 0 || r > 1) throw new Error(`The trace sampler's ratio must be a number from 0 to 1 (got ${ratio}).`);
    return { kind: name, ratio: r };
  }
  return { kind: name as Exclude<Sampler['kind'], 'traceidratio' | 'parentbased_traceidratio'> };
}

/** `key=value,key2=value2` (W3C baggage-like, values percent-decoded), as OTEL_EXPORTER_OTLP_HEADERS is written. */
function parseHeaders(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (raw ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    try {
      out[decodeURIComponent(part.slice(0, i).trim())] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      throw new Error('OTEL_EXPORTER_OTLP_HEADERS is not a list of key=value pairs with percent-encoded values.');
    }
  }
  return out;
}
