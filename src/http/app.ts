// The public HTTP surface. The MCP endpoint is a plain Node handler (it runs on every call, and a
// framework's routing and body parsing showed up in the profile); express serves the rest: the
// protected-resource metadata and JSON 404s.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { McpEndpoint } from '../mcp/endpoint.ts';
import type { AuthenticatedRequest } from '../auth/middleware.ts';
import { rpcError } from '../mcp/rpc-error.ts';
import { hostGuard, originGuard, postMediaGuard, readJsonBody } from './guards.ts';
import { withRequestContext, type RequestContextStore } from './request-context.ts';
import type { OperationHandle } from '../observability/mcp-operations.ts';

export interface AppOptions {
  mcpPath: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  endpoint: McpEndpoint;
  logger: Logger;
  /** Called as each MCP request starts; the returned function runs when it ends. */
  onRequest: () => () => void;
  /** Where each request's id is kept for the code that serves it. */
  context: RequestContextStore;
  /** Starts tracking a parsed MCP message (the operation metric, and its span with tracing on). */
  trackOperation: (req: IncomingMessage, body: unknown) => OperationHandle | undefined;
  /** Authentication: the token check runs before the body is read, the scope check after. */
  auth?: {
    authenticate: (req: AuthenticatedRequest, res: ServerResponse) => boolean | Promise<boolean>;
    requireScopes: (req: AuthenticatedRequest, res: ServerResponse, body: unknown) => boolean;
    /** Protected-resource metadata, served at each of these paths. */
    metadataPaths: readonly string[];
    metadata: RequestHandler;
  };
}

export function createApp(options: AppOptions): RequestListener {
  const host = hostGuard(options.allowedHosts);
  const origin = originGuard(options.allowedOrigins);
  const { auth, endpoint, logger } = options;

  // The MCP endpoint, step by step: Host, Origin (and CORS preflight), token, method, media types,
  // body, scopes, then the endpoint itself.
  async function serveMcp(req: AuthenticatedRequest, res: ServerResponse): Promise<void> {
    if (!origin(req, res)) return;
    if (auth) {
      const authenticated = auth.authenticate(req, res);
      if (!(typeof authenticated === 'boolean' ? authenticated : await authenticated)) return;
    }
    if (req.method !== 'POST') {
      // No sessions, so no GET stream and nothing to DELETE (the spec allows 405 for both).
      rpcError(res, 405, -32000, 'Method not allowed: this endpoint takes POST only (no sessions, no GET stream).', { Allow: 'POST' });
      return;
    }
    if (!postMediaGuard(req, res)) return;
    const read = await readJsonBody(req, res, options.maxBodyBytes);
    if (!read) return;
    const ctx = options.context.getStore();
    if (ctx) ctx.operation = options.trackOperation(req, read.body);
    if (auth && !auth.requireScopes(req, res, read.body)) return;
    await endpoint.handlePost(req, res, read.body);
  }

  const rest = express();
  rest.disable('x-powered-by');
  rest.set('trust proxy', false);
  for (const p of auth?.metadataPaths ?? []) rest.all(p, auth!.metadata);
  rest.use((_req, res) => {
    res.status(404).json({ error: 'not_found', message: `Nothing here; the MCP endpoint is ${options.mcpPath}` });
  });
  rest.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err }, 'unhandled error in HTTP handler');
    rpcError(res, 500, -32603, 'Internal error');
  });

  return (req: IncomingMessage, res: ServerResponse) => {
    if (!host(req, res)) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q === -1 ? url : url.slice(0, q)) !== options.mcpPath) {
      rest(req, res);
      return;
    }
    withRequestContext(options.context, req, res, options.onRequest, () =>
      serveMcp(req, res).catch((err: unknown) => {
        logger.error({ err }, 'MCP request failed');
        rpcError(res, 500, -32603, 'Internal error');
      }),
    );
  };
}
