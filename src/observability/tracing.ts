// OpenTelemetry traces, off by default. This file reads the settings, from the config's `tracing`
// section and the standard OTEL_* variables, and starts tracing; what the rest of the gateway sees
// (a small interface) is tracing-api.ts, re-exported here. The OpenTelemetry SDK itself is loaded
// only when tracing is on (tracing-sdk.ts), so a gateway without it pays nothing: no module, no
// span, no check beyond `tracing === undefined`.
import type { TracingConfig } from '../config/schema.ts';
import type { Sampler, TracingSettings, Tracing } from './tracing-api.ts';

export { GATEWAY_ATTRIBUTES } from './tracing-api.ts';
export type { BackendRequest, ClientSpan, McpOperation, Sampler, ServerSpan, TraceIds, Tracing, TracingSettings } from './tracing-api.ts';

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
