// Per-request context on the MCP endpoint: a request id (the caller's x-request-id if sane, else the
// trace id of a W3C traceparent, else a new one), echoed in the response and visible to tool handlers,
// and in-flight accounting for metrics and graceful shutdown.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OperationRecorder } from '../mcp/operation.ts';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The operation (the MCP message being served) as http/ sees it: the endpoint reports on it, and it
 * ends when the response closes. The port http/ declares; observability/mcp-operations.ts implements
 * it, with what else the gateway reads of it (the span), hence the type parameter below.
 */
export interface TrackedOperation extends OperationRecorder {
  /** The response is closed (the request's close hook calls it). */
  end(statusCode: number): void;
}

export interface RequestContext<O extends TrackedOperation = TrackedOperation> {
  requestId: string;
  /** The operation being served (metrics, and its server span with tracing on), once its body is read. */
  operation?: O | undefined;
}

/**
 * One store per gateway. The MCP SDK rebuilds request headers from the raw socket data, so the id
 * reaches tool handlers through the async context of the request rather than through headers.
 */
export type RequestContextStore<O extends TrackedOperation = TrackedOperation> = AsyncLocalStorage<RequestContext<O>>;

export function createRequestContextStore<O extends TrackedOperation = TrackedOperation>(): RequestContextStore<O> {
  return new AsyncLocalStorage<RequestContext<O>>();
}

/** The request's id: the caller's x-request-id if sane, else its traceparent's trace id, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && SANE_ID.test(given)) return given;
  const traceparent = req.headers.traceparent;
  return (typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent)?.[1] : undefined) ?? randomUUID();
}

/**
 * Runs `serve` inside the request's context, with its id echoed; on close, `onStart`'s end hook runs and
 * the operation, if one was tracked, ends (one listener per request for both).
 */
export function withRequestContext<T, O extends TrackedOperation>(
  store: RequestContextStore<O>,
  req: IncomingMessage,
  res: ServerResponse,
  onStart: () => () => void,
  serve: () => T,
): T {
  const requestId = requestIdOf(req);
  res.setHeader('x-request-id', requestId);
  const context: RequestContext<O> = { requestId, operation: undefined };
  const end = onStart();
  res.once('close', () => {
    end();
    context.operation?.end(res.statusCode);
  });
  return store.run(context, serve);
}
