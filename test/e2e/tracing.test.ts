// Traces end to end against a real trace backend (Jaeger v2, started by the test setup): a call
// through the SDK client with a traceparent gives one trace in Jaeger holding the gateway's server
// span under the caller's span and the backend client span under it, and the simulated backend
// received the same trace id. The gateway exports over OTLP/HTTP as configured by OTEL_* variables.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startJaeger, type Jaeger, type JaegerSpan } from '../helpers/jaeger.ts';
import { modernRpc } from '../helpers/modern-rpc.ts';

const TRACE = '5bf92f3577b34da6a3ce929d0e0e4737';
const CALLER_SPAN = '10f067aa0ba902b8';

describe('traces in a real trace backend', () => {
  let jaeger: Jaeger;
  let t: TestGateway | undefined;
  beforeAll(async () => {
    jaeger = await startJaeger(); // cold: builds jaeger from its Go module (~5 min on 2 cores)
  }, 900_000);
  afterAll(async () => {
    await t?.close();
    await jaeger?.close();
  });

  it('holds one trace: the caller span → the gateway server span → the backend client span, and the backend saw that trace', async () => {
    t = await startTestGateway({
      deps: { env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_SERVICE_NAME: 'gateway-under-test' } },
    });
    const client = await t.client({ headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
    const job = seed(t, 'site-x', 'running');
    const r = await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'site-x', job_id: job } });
    expect(r.isError).toBeFalsy();
    const sim = t.sandbox.simulations.find((s) => s.kind === 'project_runtime')!;
    const received = sim.server.requests.filter((q) => q.path.includes(job)).map((q) => q.headers.traceparent);
    expect(received.length).toBeGreaterThan(0);
    for (const tp of received) expect(tp).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    await t.close(); // flushes the batch of spans
    t = undefined;

    let spans: JaegerSpan[] = [];
    let services: string[] = [];
    for (let i = 0; i < 50 && spans.length < 2; i++) {
      ({ spans, services } = await jaeger.trace(TRACE));
      if (spans.length < 2) await new Promise((r) => setTimeout(r, 200));
    }
    expect(services).toContain('gateway-under-test');
    const server = spans.find((s) => s.operationName === 'tools/call get_job_status')!;
    expect(server, JSON.stringify(spans.map((s) => s.operationName))).toBeDefined();
    expect(server.references).toEqual([expect.objectContaining({ refType: 'CHILD_OF', traceID: TRACE, spanID: CALLER_SPAN })]);
    const tag = (s: JaegerSpan, key: string) => s.tags.find((x) => x.key === key)?.value;
    expect(tag(server, 'span.kind')).toBe('server');
    expect(tag(server, 'mcp.method.name')).toBe('tools/call');
    expect(tag(server, 'gen_ai.tool.name')).toBe('get_job_status');
    const backend = spans.find((s) => s.operationName.startsWith('GET /projects/') && s.operationName.endsWith('/jobs/{job_id}'))!;
    expect(backend, JSON.stringify(spans.map((s) => s.operationName))).toBeDefined();
    expect(backend.references).toEqual([expect.objectContaining({ refType: 'CHILD_OF', spanID: server.spanID })]);
    expect(tag(backend, 'span.kind')).toBe('client');
    expect(backend.operationName).not.toContain(job);
    // The id the backend received names this very span.
    expect(received).toContain(`00-${TRACE}-${backend.spanID}-01`);
  }, 60_000);

  it("traces a task's creation and its polls as server spans labelled by method, each poll's backend read under it", async () => {
    const TASK_TRACE = '7a1e0c5d2b3f4a6e8d9c0b1a2f3e4d5c';
    t = await startTestGateway({
      deps: { env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_SERVICE_NAME: 'gateway-under-test' } },
    });
    const traced = { token: t.token, headers: { traceparent: `00-${TASK_TRACE}-${CALLER_SPAN}-01` } };
    const job = seed(t, 'agents', 'long_running');
    const created = await modernRpc(
      t.mcpUrl,
      'tools/call',
      { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: job, wait_seconds: 600 } },
      traced,
    );
    expect(created.result).toMatchObject({ resultType: 'task' });
    const taskId = created.result!.taskId as string;
    expect((await modernRpc(t.mcpUrl, 'tasks/get', { taskId }, traced)).result).toMatchObject({ status: 'working' });
    expect((await modernRpc(t.mcpUrl, 'tasks/cancel', { taskId }, traced)).error).toBeUndefined();
    await t.close();
    t = undefined;

    let spans: JaegerSpan[] = [];
    for (let i = 0; i < 50 && spans.filter((s) => s.tags.some((x) => x.key === 'span.kind' && x.value === 'server')).length < 3; i++) {
      ({ spans } = await jaeger.trace(TASK_TRACE));
      await new Promise((r) => setTimeout(r, 200));
    }
    const tag = (s: JaegerSpan, key: string) => s.tags.find((x) => x.key === key)?.value;
    const server = (method: string) => spans.find((s) => tag(s, 'span.kind') === 'server' && tag(s, 'mcp.method.name') === method);
    for (const method of ['tools/call', 'tasks/get', 'tasks/cancel'])
      expect(server(method), `${method} in ${JSON.stringify(spans.map((s) => s.operationName))}`).toBeDefined();
    // The creation read the job under its own span.
    const reads = spans.filter((s) => tag(s, 'span.kind') === 'client');
    expect(reads.some((s) => s.references.some((r) => r.spanID === server('tools/call')!.spanID))).toBe(true);
  }, 60_000);
});
