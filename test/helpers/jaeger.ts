// A real trace backend for tests: Jaeger v2 (built by scripts/tools/install.ts) with in-memory storage, an
// OTLP/HTTP receiver and its query API, each on a free loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureJaeger } from '../../scripts/tools/install.ts';
import { freePort } from '../../scripts/tools/ports.ts';

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}

export interface Jaeger {
  /** The OTLP/HTTP base endpoint (what OTEL_EXPORTER_OTLP_ENDPOINT names). */
  readonly otlpEndpoint: string;
  /** The spans of one trace (an empty list while Jaeger has none). */
  trace(traceId: string): Promise<{ spans: JaegerSpan[]; services: string[] }>;
  close(): Promise<void>;
}

export async function startJaeger(): Promise<Jaeger> {
  const bin = await ensureJaeger();
  const [otlp, query, grpc] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'jaeger-test-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      'service:',
      '  extensions: [jaeger_storage, jaeger_query]',
      '  pipelines:',
      '    traces: { receivers: [otlp], exporters: [jaeger_storage_exporter] }',
      '  telemetry: { metrics: { level: none }, logs: { level: warn } }',
      'extensions:',
      `  jaeger_query: { storage: { traces: mem }, http: { endpoint: "127.0.0.1:${query}" }, grpc: { endpoint: "127.0.0.1:${grpc}" } }`,
      '  jaeger_storage: { backends: { mem: { memory: { max_traces: 10000 } } } }',
      'receivers:',
      `  otlp: { protocols: { http: { endpoint: "127.0.0.1:${otlp}" } } }`,
      'exporters:',
      '  jaeger_storage_exporter: { trace_storage: mem }',
      '',
    ].join('\n'),
  );
  let output = '';
  const child: ChildProcess = spawn(bin, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const queryUrl = `http://127.0.0.1:${query}`;
  // Ready when the query API answers (the receiver starts before it).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jaeger exited (${child.exitCode}):\n${output.slice(-2000)}`);
    try {
      if ((await fetch(`${queryUrl}/api/services`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`jaeger did not start within 30 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    otlpEndpoint: `http://127.0.0.1:${otlp}`,
    async trace(traceId) {
      const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
      if (res.status === 404) return { spans: [], services: [] };
      const body = (await res.json()) as { data?: { spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }[] };
      const t = body.data?.[0];
      return { spans: t?.spans ?? [], services: Object.values(t?.processes ?? {}).map((p) => p.serviceName) };
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
