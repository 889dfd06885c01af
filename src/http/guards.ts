// Request guards in front of the MCP endpoint: Host allow-list (DNS rebinding), Origin allow-list
// (403, as the transport spec requires), CORS for the allowed browser origins, and JSON-RPC shaped
// answers for bodies that are too large or not JSON.
import type { NextFunction, Request, Response } from 'express';
import { rpcError } from '../mcp/transport.ts';

/** Hostnames (no port) accepted in the Host header. */
export function hostGuard(allowed: readonly string[]) {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  return (req: Request, res: Response, next: NextFunction) => {
    const host = hostnameOf(req.headers.host);
    if (host && names.has(host)) return next();
    rpcError(res, 403, -32000, `Forbidden: Host header "${(req.headers.host ?? '').slice(0, 100)}" is not allowed`);
  };
}

/** A request carrying an Origin outside the allow-list is refused; one without Origin (not a browser) passes. */
export function originGuard(allowed: readonly string[]) {
  const origins = new Set(allowed.map((o) => o.toLowerCase()));
  const ALLOW_HEADERS = 'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id, x-request-id';
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    if (!origins.has(origin.toLowerCase())) {
      rpcError(res, 403, -32000, `Forbidden: Origin "${origin.slice(0, 100)}" is not allowed`);
      return;
    }
    res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'mcp-session-id, www-authenticate', Vary: 'Origin' });
    if (req.method === 'OPTIONS') {
      res.set({ 'Access-Control-Allow-Methods': 'GET, POST, DELETE', 'Access-Control-Allow-Headers': ALLOW_HEADERS, 'Access-Control-Max-Age': '600' });
      res.status(204).end();
      return;
    }
    next();
  };
}

/**
 * POST must carry JSON and accept both JSON and SSE answers (spec: Sending Messages to the Server).
 * Checked before session handling so the status says what is wrong with the request itself.
 */
export function postMediaGuard(req: Request, res: Response, next: NextFunction): void {
  if (!req.is('application/json')) return rpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    return rpcError(res, 406, -32000, 'Not Acceptable: Accept must list both application/json and text/event-stream');
  }
  next();
}

/** Turns body-parser failures into JSON-RPC errors instead of HTML pages. */
export function bodyErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const e = err as { type?: string; status?: number; limit?: number };
  if (e?.type === 'entity.too.large') return rpcError(res, 413, -32600, `Request body larger than ${e.limit} bytes`);
  if (e?.type === 'entity.parse.failed') return rpcError(res, 400, -32700, 'Parse error: the body is not valid JSON');
  if (e?.status && e.status >= 400 && e.status < 500) return rpcError(res, e.status, -32600, 'Invalid request body');
  next(err);
}

function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
