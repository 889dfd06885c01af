// The public HTTP surface: the MCP endpoint with its guards, and JSON 404s elsewhere.
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { McpTransport } from '../mcp/transport.ts';
import { rpcError } from '../mcp/transport.ts';
import { bodyErrorHandler, hostGuard, originGuard, postMediaGuard } from './guards.ts';
import { requestContext, type RequestContextStore } from './request-context.ts';

export interface AppOptions {
  mcpPath: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  transport: McpTransport;
  logger: Logger;
  /** Called as each MCP request starts; the returned function runs when it ends. */
  onRequest: (req: Request) => () => void;
  /** Where each request's id is kept for the code that serves it. */
  context: RequestContextStore;
  /** Authentication: the header check runs before the body is read, the scope check after. */
  auth?: {
    authenticate: RequestHandler;
    requireScopes: RequestHandler;
    /** Protected-resource metadata, served at each of these paths. */
    metadataPaths: readonly string[];
    metadata: RequestHandler;
  };
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  const path = options.mcpPath;
  const auth = options.auth;
  app.use(hostGuard(options.allowedHosts));
  for (const p of auth?.metadataPaths ?? []) app.all(p, auth!.metadata);
  app.use(path, originGuard(options.allowedOrigins));
  app.use(path, requestContext(options.context, options.onRequest));
  if (auth) app.use(path, auth.authenticate);
  const scopes: RequestHandler[] = auth ? [auth.requireScopes] : [];
  app.post(path, postMediaGuard, express.json({ limit: options.maxBodyBytes }), bodyErrorHandler, ...scopes, wrap(options.transport.handlePost, options.logger));
  app.get(path, wrap(options.transport.handleGet, options.logger));
  app.delete(path, wrap(options.transport.handleDelete, options.logger));
  app.all(path, (_req, res) => rpcError(res, 405, -32000, 'Method not allowed', { Allow: options.transport.allow }));

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: `Nothing here; the MCP endpoint is ${path}` });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    options.logger.error({ err }, 'unhandled error in HTTP handler');
    rpcError(res, 500, -32603, 'Internal error');
  });
  return app;
}

function wrap(handler: (req: Request, res: Response) => Promise<void>, logger: Logger) {
  return (req: Request, res: Response) => {
    handler(req, res).catch((err: unknown) => {
      logger.error({ err }, 'MCP transport failed');
      rpcError(res, 500, -32603, 'Internal error');
    });
  };
}
