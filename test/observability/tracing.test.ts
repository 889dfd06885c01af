// Traces through real SDK clients against the sandbox, the spans kept in memory by the OpenTelemetry
// SDK's own exporter: the server span of an MCP request continues the caller's trace (the HTTP
// traceparent, or the 2026-07-28 request's `_meta`), the backend call is its child, the simulated
// backend receives the same trace, and nothing of the caller's arguments is recorded by default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { createSdkTracing } from '../../src/observability/tracing-sdk.ts';
import { tracingSettings } from '../../src/observability/tracing.ts';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const traceparent = (trace = CALLER_TRACE, span = CALLER_SPAN) => `00-${trace}-${span}-01`;

describe('tracing on', () => {
  let t: TestGateway;
  const exporter = new InMemorySpanExporter();
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const settings = tracingSettings({ enabled: true, record_tool_arguments: false }, {})!;
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
          done();
        },
      }),
    );
    t = await startTestGateway({
      configure: (c) => ({ ...c, tracing: { enabled: true, record_tool_arguments: false } }),
      deps: { logger, tracing: createSdkTracing(settings, exporter) },
    });
  });
  afterAll(async () => t?.close());

  const spans = () => exporter.getFinishedSpans();
  const byTrace = (trace: string) => spans().filter((s) => s.spanContext().traceId === trace);
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

  it('continues the HTTP traceparent: server span, backend client span, and the backend sees the trace', async () => {
    const client = await t.client({ headers: { traceparent: traceparent() } });
    const job = seed(t, 'agents', 'running');
    const r = await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job } });
    expect(r.isError).toBeFalsy();
    const trace = byTrace(CALLER_TRACE);
    const server = trace.find((s) => s.name === 'tools/call get_job_status')!;
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(parentOf(server)).toBe(CALLER_SPAN);
    expect(server.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'get_job_status',
      'gen_ai.operation.name': 'execute_tool',
      'mcp.protocol.version': '2025-11-25',
      'mcp_job_gateway.project': 'agents',
      'mcp_job_gateway.backend.kind': 'agent_jobs',
    });
    expect(server.attributes['jsonrpc.request.id']).toBeDefined();
    expect(server.attributes['error.type']).toBeUndefined();
    const clientSpan = trace.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(parentOf(clientSpan)).toBe(server.spanContext().spanId);
    expect(clientSpan.name).toBe('GET /api/v0/services/agent-jobs/{job_id}');
    expect(clientSpan.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.template': '/api/v0/services/agent-jobs/{job_id}',
      'http.response.status_code': 200,
    });
    // The job id is in no attribute and no span name (it may be personal).
    expect(JSON.stringify(trace.map((s) => [s.name, s.attributes]))).not.toContain(job);
    const sim = t.sandbox.simulations.find((s) => s.kind === 'agent_jobs')!;
    const seen = sim.server.requests.filter((q) => q.path.includes(job)).at(-1)!;
    expect(seen.headers.traceparent).toBe(`00-${CALLER_TRACE}-${clientSpan.spanContext().spanId}-01`);
    // The log line carries the trace.
    expect(lines.find((l) => l.event === 'tool_call' && l.trace_id === CALLER_TRACE)).toMatchObject({
      span_id: server.spanContext().spanId,
    });
  });

  it("continues a 2026-07-28 request's _meta traceparent and links the HTTP one", async () => {
    const metaTrace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
    const httpTrace = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
    const client = await t.modernClient({ headers: { traceparent: traceparent(httpTrace) } });
    const r = await client.callTool({
      name: 'cancel_job',
      arguments: { project_reference: 'site-x', job_id: seed(t, 'site-x', 'queued') },
      _meta: { traceparent: traceparent(metaTrace, '1111111111111111') },
    });
    expect(r.isError).toBeFalsy();
    const server = byTrace(metaTrace).find((s) => s.name === 'tools/call cancel_job')!;
    expect(server).toBeDefined();
    expect(parentOf(server)).toBe('1111111111111111');
    expect(server.attributes['mcp.protocol.version']).toBe('2026-07-28');
    expect(server.links.map((l) => l.context.traceId)).toEqual([httpTrace]);
    expect(byTrace(metaTrace).filter((s) => s.kind === SpanKind.CLIENT).length).toBeGreaterThanOrEqual(2); // read, cancel, read
    const audit = lines.find((l) => l.event === 'audit' && l.trace_id === metaTrace);
    expect(audit).toMatchObject({ span_id: server.spanContext().spanId });
  });

  it('marks a tool error with error.type tool_error and its code, and a protocol error with its JSON-RPC code', async () => {
    const client = await t.client({ headers: { traceparent: traceparent('cccccccccccccccccccccccccccccc03') } });
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'nope', job_id: 'x' } });
    const failed = byTrace('cccccccccccccccccccccccccccccc03').find((s) => s.name === 'tools/call get_job_status')!;
    expect(failed.attributes).toMatchObject({ 'error.type': 'tool_error', 'mcp_job_gateway.error.code': 'UNKNOWN_PROJECT' });
    expect(failed.status.code).toBe(2); // ERROR
    await expect(client.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow();
    const unknown = byTrace('cccccccccccccccccccccccccccccc03').find((s) => s.name === 'tools/call _OTHER')!;
    expect(unknown.attributes).toMatchObject({ 'error.type': '-32602', 'rpc.response.status_code': '-32602' });
  });

  it('names a method the gateway does not serve _OTHER, refused with -32601, in its span and the metric', async () => {
    const res = await fetch(t.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        authorization: `Bearer ${t.token}`,
        traceparent: traceparent('cccccccccccccccccccccccccccccc04'),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'resources/list', params: {} }),
    });
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32601);
    const serverSpan = () => byTrace('cccccccccccccccccccccccccccccc04').find((s) => s.kind === SpanKind.SERVER);
    await expect.poll(() => serverSpan()?.name).toBe('_OTHER'); // the span ends when the response closes
    const refused = serverSpan()!;
    expect(refused.attributes).toMatchObject({ 'mcp.method.name': '_OTHER', 'error.type': '-32601' });
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(text).toMatch(
      /mcp_server_operation_duration_seconds_count\{mcp_method_name="_OTHER",gen_ai_tool_name="",mcp_protocol_version="2025-11-25",error_type="-32601"\} 1/,
    );
  });

  it('exports mcp.server.operation.duration beside the other metrics', async () => {
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(text).toMatch(
      /mcp_server_operation_duration_seconds_count\{mcp_method_name="tools\/call",gen_ai_tool_name="get_job_status",mcp_protocol_version="2025-11-25",error_type=""\} \d+/,
    );
    expect(text).toMatch(
      /mcp_server_operation_duration_seconds_count\{mcp_method_name="tools\/call",gen_ai_tool_name="get_job_status",mcp_protocol_version="2025-11-25",error_type="tool_error"\} 1/,
    );
  });
});

describe('tracing with tool arguments opted in', () => {
  it('records the arguments as gen_ai.tool.call.arguments only when the operator opts in', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = { enabled: true, record_tool_arguments: true };
    const t = await startTestGateway({
      configure: (c) => ({ ...c, tracing }),
      deps: { tracing: createSdkTracing(tracingSettings(tracing, {})!, exporter) },
    });
    try {
      const job = seed(t, 'agents', 'queued');
      await (await t.client()).callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job } });
      const server = exporter.getFinishedSpans().find((s) => s.name === 'tools/call get_job_status')!;
      expect(JSON.parse(server.attributes['gen_ai.tool.call.arguments'] as string)).toEqual({ project_reference: 'agents', job_id: job });
    } finally {
      await t.close();
    }
  });
});

describe('tracing settings', () => {
  it('is off unless the config or an OTLP endpoint turns it on, and OTEL_SDK_DISABLED wins', () => {
    expect(tracingSettings(undefined, {})).toBeUndefined();
    expect(tracingSettings(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })?.url).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(tracingSettings(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' })?.url).toBe('http://c:4318/custom');
    expect(tracingSettings(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(
      tracingSettings({ enabled: false, record_tool_arguments: false }, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toBeUndefined();
    expect(tracingSettings({ enabled: true, endpoint: 'http://x:4318/', record_tool_arguments: false }, {})?.url).toBe(
      'http://x:4318/v1/traces',
    );
  });

  it('reads the sampler and service name from OTEL_* and refuses what it cannot honour', () => {
    const s = tracingSettings(undefined, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SERVICE_NAME: 'gw-eu',
    })!;
    expect(s.sampler).toEqual({ kind: 'parentbased_traceidratio', ratio: 0.25 });
    expect(s.serviceName).toBe('gw-eu');
    expect(() => tracingSettings(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /http\/protobuf/,
    );
    expect(() => tracingSettings(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(
      /sampler/,
    );
    expect(() =>
      tracingSettings(undefined, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '2',
      }),
    ).toThrow(/0 to 1/);
  });
});
