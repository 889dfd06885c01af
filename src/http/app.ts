// The public HTTP surface. The MCP endpoint is a plain Node handler, without a framework's routing
// and body parsing, since it runs on every call (see docs/performance.md); express serves the rest:
// the protected-resource metadata and JSON 404s.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { McpEndpoint } from '../mcp/endpoint.ts';
import type { InboundMessage } from '../mcp/methods.ts';
import type { ScopeName } from '../mcp/policy.ts';
import type { AuthenticatedRequest } from '../auth/middleware.ts';
import { rpcError } from '../mcp/rpc-error.ts';
import { hostGuard, originGuard, postMediaGuard, readJsonBody } from './guards.ts';
import { withRequestContext, type RequestContextStore, type TrackedOperation } from './request-context.ts';

export interface AppOptions<O extends TrackedOperation = TrackedOperation> {
  mcpPath: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  maxBodyBytes: number;
  endpoint: McpEndpoint;
  logger: Logger;
  /** Called as each MCP request starts; the returned function runs when it ends. */
  onRequest: () => () => void;
  /** Where each request's id and operation are kept for the code that serves it. */
  context: RequestContextStore<O>;
  /** Starts tracking a parsed MCP message (the operation metric, and its span with tracing on); the port observability implements. */
  trackOperation: (req: IncomingMessage, message: InboundMessage) => O | undefined;
  /** Authentication: the token check runs before the body is read, the scope check after. */
  auth?: {
    authenticate: (req: AuthenticatedRequest, res: ServerResponse) => boolean | Promise<boolean>;
    /** Whether the caller's token carries the scope the message needs (from the table of methods); else answers 403. */
    requireScopes: (req: AuthenticatedRequest, res: ServerResponse, scope: ScopeName) => boolean;
    /** Protected-resource metadata, served at each of these paths. */
    metadataPaths: readonly string[];
    metadata: RequestHandler;
  };
}

export function createApp<O extends TrackedOperation>(options: AppOptions<O>): RequestListener {
  const host = hostGuard(options.allowedHosts);
  const origin = originGuard(options.allowedOrigins);
  const { auth, endpoint, logger } = options;

  // The MCP endpoint, step by step: Host, Origin (and CORS preflight), token, method, media types,
  // body, its place in the table of methods, scopes, then the endpoint itself.
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
    const message = endpoint.resolve(read.body);
    const ctx = options.context.getStore();
    if (ctx) ctx.operation = options.trackOperation(req, message);
    if (auth && !auth.requireScopes(req, res, message.scope)) return;
    await endpoint.handlePost(req, res, message);
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
    void withRequestContext(options.context, req, res, options.onRequest, () =>
      serveMcp(req, res).catch((err: unknown) => {
        logger.error({ err }, 'MCP request failed');
        rpcError(res, 500, -32603, 'Internal error');
      }),
    );
  };
}
