// The OpenTelemetry side of tracing.ts, loaded only when tracing is on. One tracer provider per
// gateway and nothing registered globally (two gateways in one process keep their own), so contexts
// are passed explicitly: the server span of an MCP request is the parent of its backend calls.
// Spans follow OpenTelemetry's semantic conventions for MCP.
import type { IncomingHttpHeaders } from 'node:http';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type Link,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { VERSION } from '../version.ts';
import {
  GATEWAY_ATTRIBUTES,
  type BackendRequest,
  type ClientSpan,
  type McpOperation,
  type ServerSpan,
  type Tracing,
  type TracingSettings,
} from './tracing-api.ts';

/** `exporter` replaces OTLP (tests keep spans in memory); it is then flushed span by span. */
export function createSdkTracing(settings: TracingSettings, exporter?: SpanExporter): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: VERSION }),
    sampler: samplerOf(settings.sampler),
    spanProcessors: [
      exporter
        ? new SimpleSpanProcessor({ exporter })
        : new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.url, headers: settings.headers }) }),
    ],
  });
  const tracer = provider.getTracer('mcp-job-gateway', VERSION);
  const propagator = new W3CTraceContextPropagator();
  const contexts = new WeakMap<ServerSpan, Context>();

  function extract(carrier: Record<string, unknown> | IncomingHttpHeaders | undefined): Context | undefined {
    if (!carrier || typeof carrier.traceparent !== 'string') return undefined;
    const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    return trace.getSpanContext(ctx) ? ctx : undefined;
  }

  return {
    startServer(op: McpOperation, headers: IncomingHttpHeaders): ServerSpan {
      // The request's `_meta` names the caller's span (SEP-414); the HTTP request's context, when it
      // differs, is linked (the conventions' rule). Without `_meta`, the HTTP headers continue the trace.
      const fromMeta = extract(op.meta);
      const fromHttp = extract(headers);
      const parent = fromMeta ?? fromHttp ?? ROOT_CONTEXT;
      const links: Link[] = [];
      const httpSpan = fromHttp ? trace.getSpanContext(fromHttp) : undefined;
      if (fromMeta && httpSpan && httpSpan.spanId !== trace.getSpanContext(fromMeta)!.spanId) links.push({ context: httpSpan });
      const span = tracer.startSpan(
        op.tool ? `${op.method} ${op.tool}` : op.method,
        {
          kind: SpanKind.SERVER,
          links,
          attributes: {
            'mcp.method.name': op.method,
            ...(op.tool ? { 'gen_ai.tool.name': op.tool, 'gen_ai.operation.name': 'execute_tool' } : {}),
            ...(op.jsonrpcId !== undefined ? { 'jsonrpc.request.id': op.jsonrpcId } : {}),
            ...(op.protocolVersion ? { 'mcp.protocol.version': op.protocolVersion } : {}),
            'network.transport': 'tcp',
            'network.protocol.name': 'http',
          },
        },
        parent,
      );
      const sc = span.spanContext();
      const server: ServerSpan = {
        ids: { trace_id: sc.traceId, span_id: sc.spanId },
        set(attributes) {
          for (const [k, v] of Object.entries(attributes)) if (v !== undefined) span.setAttribute(k, v);
        },
        fail(errorType, rpcCode) {
          span.setAttribute('error.type', errorType);
          if (rpcCode !== undefined) span.setAttribute('rpc.response.status_code', rpcCode);
          span.setStatus({ code: SpanStatusCode.ERROR });
        },
        end: () => span.end(),
      };
      contexts.set(server, trace.setSpan(parent, span));
      return server;
    },

    startClient(parent: ServerSpan | undefined, req: BackendRequest): ClientSpan {
      const ctx = (parent && contexts.get(parent)) ?? ROOT_CONTEXT;
      const port = req.origin.port ? Number(req.origin.port) : req.origin.protocol === 'https:' ? 443 : 80;
      const span = tracer.startSpan(
        `${req.method} ${req.template}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': req.method,
            'url.template': req.template,
            'server.address': req.origin.hostname,
            'server.port': port,
            [GATEWAY_ATTRIBUTES.backendName]: req.backend.name,
            [GATEWAY_ATTRIBUTES.backendKind]: req.backend.kind,
          },
        },
        ctx,
      );
      const own = trace.setSpan(ctx, span);
      return {
        inject: (headers) => propagator.inject(own, headers, defaultTextMapSetter),
        end({ status, resends, errorType }) {
          if (status !== undefined) span.setAttribute('http.response.status_code', status);
          if (resends > 0) span.setAttribute('http.request.resend_count', resends);
          const failed = errorType ?? (status !== undefined && status >= 400 ? String(status) : undefined);
          if (failed !== undefined) {
            span.setAttribute('error.type', failed);
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        },
      };
    },

    shutdown: () => provider.shutdown(),
  };
}

function samplerOf(s: TracingSettings['sampler']): Sampler {
  switch (s.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(s.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(s.ratio) });
  }
}
