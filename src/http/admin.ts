// The admin listener, apart from the public MCP port: Prometheus metrics, liveness, readiness, and a
// per-backend health view built from the calls the gateway made (a slow or dead backend shows here
// but never fails readiness: other backends still deserve traffic).
import express, { type Express } from 'express';

/** What the admin listener shows: the port http/ declares, observability/metrics.ts implements. */
export interface AdminMetrics {
  /** The Prometheus registry: its exposition format and text. */
  readonly registry: { readonly contentType: string; metrics(): Promise<string> };
  /** The per-backend health view, as JSON-ready records. */
  backendHealth(): readonly object[];
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export function createAdminApp(options: { metrics: AdminMetrics; readiness: () => Readiness }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const r = options.readiness();
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/backends', (_req, res) => {
    res.json({ backends: options.metrics.backendHealth() });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'admin endpoints: /metrics, /healthz, /readyz, /backends' });
  });
  return app;
}
