// Per-request context on the MCP endpoint: a request id (the caller's x-request-id if sane, else the
// trace id of a W3C traceparent, else a new one), echoed in the response and visible to tool handlers,
// and in-flight accounting for metrics and graceful shutdown.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

export interface RequestContext {
  requestId: string;
}

/**
 * One store per gateway. The MCP SDK rebuilds request headers from the raw socket data, so the id
 * reaches tool handlers through the async context of the request rather than through headers.
 */
export type RequestContextStore = AsyncLocalStorage<RequestContext>;

export function createRequestContextStore(): RequestContextStore {
  return new AsyncLocalStorage<RequestContext>();
}

export function requestContext(store: RequestContextStore, onStart: (req: Request) => () => void) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.headers['x-request-id'];
    const trace = TRACEPARENT.exec(String(req.headers.traceparent ?? ''))?.[1];
    const requestId = typeof given === 'string' && SANE_ID.test(given) ? given : (trace ?? randomUUID());
    res.setHeader('x-request-id', requestId);
    res.once('close', onStart(req));
    store.run({ requestId }, next);
  };
}
