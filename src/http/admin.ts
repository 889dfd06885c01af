// The admin listener, apart from the public MCP port: Prometheus metrics, liveness, readiness, and a
// per-backend health view built from the calls the gateway made (a slow or dead backend shows here
// but never fails readiness: other backends still deserve traffic).
import express, { type Express } from 'express';
import { hostnameOf } from './guards.ts';

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
  // No Host allow-list here (the listener is reached by scrapers and probes under any name), but a
  // Host header that is no host[:port] is a malformed request, refused before anything else.
  app.use((req, res, next) => {
    const host = req.headers.host ?? '';
    if (hostnameOf(host) !== undefined) return next();
    res
      .status(400)
      .set('connection', 'close')
      .json({ error: 'bad_request', message: `The Host header "${host.slice(0, 100)}" is not a host[:port]` });
  });
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
