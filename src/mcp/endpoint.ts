// The MCP endpoint for both protocol eras, with no sessions: any replica answers any call.
// - every body is first placed in the table of methods (methods.ts); a request or notification
//   naming a method the table lacks is refused here, before any handler runs (deny by default),
//   with the answer the SDK gives a method it does not know;
// - 2026-07-28 requests (the per-request `_meta` envelope, `server/discover`) and 2025-era clients
//   (`initialize`, then stateless calls) are served by the SDK's createMcpHandler, which owns the
//   era classification, the header checks and every protocol error;
// - a plain tools/call of one of our tools takes the lean path (lean-path.ts) in either era, with
//   its heartbeats when the client sent a progress token (lean-reply.ts);
// - JSON-RPC batches are refused in both eras (removed from the protocol in 2025-06-18).
// Guards, authentication and the scope check (which reads the scope resolved here) run before
// handlePost (http/app.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createMcpHandler, type AuthInfo, type Server } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { Caller } from '../jobs/caller.ts';
import type { ToolDispatcher } from './dispatch.ts';
import { dispatchEra, standardHeaders } from './eras.ts';
import { createLeanPathFilter, createLeanResultEncoder } from './lean-path.ts';
import { createLeanReply } from './lean-reply.ts';
import { createMessageResolver, isTaskMethod, type InboundMessage } from './methods.ts';
import type { OperationRecorder } from './operation.ts';
import { rpcError, rpcErrorBody } from './rpc-error.ts';
import { UNLISTED_POINTS } from './policy.ts';

export interface McpEndpointOptions {
  dispatcher: ToolDispatcher;
  /** Builds the SDK server for one request (server.ts). */
  createServer: () => Server;
  info: { name: string; version: string };
  maxBodyBytes: number;
  logger: Logger;
  /** The id of the HTTP request being served, for logs and audit. */
  requestId: () => string | undefined;
  /** The operation being served (metrics, traces), if tracked. */
  operation?: () => OperationRecorder | undefined;
}

export interface McpEndpoint {
  /** Places one parsed body in the table of methods: its method's entry, and the scope a caller needs. */
  resolve(body: unknown): InboundMessage;
  /** Serves one POST whose JSON body has been parsed and resolved. */
  handlePost(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, message: InboundMessage): Promise<void>;
  /** Aborts calls in progress (graceful stop, after the grace period). */
  close(): Promise<void>;
}

/**
 * How the SDK answers a request for a method it does not know, once past the protocol checks: -32601
 * with HTTP 404 in 2026-07-28 (a ladder error), in-band on HTTP 200 in the 2025 era.
 */
const METHOD_NOT_FOUND = { code: -32601, message: 'Method not found', status: { modern: 404, legacy: 200 } } as const;

/** The JSON-RPC code of a message refused because its caller's budget is spent (HTTP 429; `data.code` says RATE_LIMITED). */
export const RATE_LIMITED_CODE = -32000;

/** A task id an Mcp-Name header can carry as it is: visible ASCII, as the gateway's own ids are. */
const PLAIN_TASK_ID = /^[\x21-\x7e]{1,256}$/;

/**
 * fastmcp[tasks] 4.1.4 sends tasks/get, tasks/update and tasks/cancel without the Mcp-Name header
 * SEP-2663 asks for, which the SDK refuses (400, -32020). A task request with no Mcp-Name at all is
 * given the one its params.taskId implies; one whose Mcp-Name differs from the body is still the
 * SDK's to refuse, as is a task id a header could not carry plainly.
 */
function nameUnnamedTaskRequest(req: IncomingMessage, message: InboundMessage): void {
  if (message.kind !== 'request' || !isTaskMethod(message.method) || req.headers['mcp-name'] !== undefined) return;
  const taskId = message.params?.taskId;
  if (typeof taskId === 'string' && PLAIN_TASK_ID.test(taskId)) req.headers['mcp-name'] = taskId;
}

/** The caller authentication attached to the request (none without authentication). */
function callerOf(req: IncomingMessage & { auth?: AuthInfo }): Caller | undefined {
  return (req.auth?.extra as { caller?: Caller } | undefined)?.caller;
}

export function createMcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  const { dispatcher, logger } = options;
  const onerror = (err: Error) => logger.warn({ err }, 'MCP request failed in the SDK');
  const sdk = createMcpHandler(options.createServer, {
    legacy: 'stateless',
    responseMode: 'auto',
    maxRequestBodySize: options.maxBodyBytes,
    onerror,
  });
  const sdkNode = toNodeHandler(sdk, { onerror, maxRequestBodySize: options.maxBodyBytes });
  const inFlight = new Set<AbortController>();
  const resolve = createMessageResolver((name) => dispatcher.policyOf(name));
  const leanToolCall = createLeanPathFilter();
  const encodeLeanResult = createLeanResultEncoder(options.info);

  /**
   * Refuses a message whose method the table lacks, as the SDK answers one it does not know; false
   * when the SDK would answer it on an earlier rung (a protocol error), which it then does.
   */
  function refused(req: IncomingMessage, res: ServerResponse, message: InboundMessage): boolean {
    const era = dispatchEra(message.body, standardHeaders(req.headers));
    if (era === undefined) return false;
    if (message.kind === 'notification') {
      res.writeHead(202).end(); // a notification is never answered; it is dropped
      return true;
    }
    options.operation?.()?.rpcError(String(METHOD_NOT_FOUND.code));
    rpcError(res, METHOD_NOT_FOUND.status[era], METHOD_NOT_FOUND.code, METHOD_NOT_FOUND.message, {}, message.id);
    return true;
  }

  /**
   * Takes what the message costs from its caller's budget (every message costs, none is free: the
   * table's points, or one for a message it lacks); a call of one of our tools is charged by the
   * dispatcher instead, as the tool declares. Over budget, the message is refused with 429 and
   * Retry-After (a notification too: it cannot be answered in-band), and false returned.
   */
  async function charged(
    req: IncomingMessage & { auth?: AuthInfo },
    res: ServerResponse,
    message: InboundMessage,
    points: number = message.points,
  ): Promise<boolean> {
    if (points === 0) return true;
    const pending = dispatcher.charge(callerOf(req), points);
    const wait = typeof pending === 'number' ? pending : await pending;
    if (wait === 0) return true;
    options.operation?.()?.rpcError(String(RATE_LIMITED_CODE));
    rpcError(
      res,
      429,
      RATE_LIMITED_CODE,
      `Rate limited: too many requests from you; retry in ${wait} s.`,
      { 'retry-after': String(wait) },
      message.id ?? null,
      { code: 'RATE_LIMITED', retry_after_seconds: wait },
    );
    return false;
  }

  return {
    resolve,
    async handlePost(req, res, message) {
      if (!(await charged(req, res, message))) return;
      if (Array.isArray(message.body)) {
        rpcError(res, 400, -32600, 'Invalid Request: JSON-RPC batches are not supported; send one message per request.');
        return;
      }
      if (message.kind !== 'other' && message.policy === undefined && refused(req, res, message)) return;
      nameUnnamedTaskRequest(req, message);
      const call = leanToolCall(req.headers, message);
      if (!call) {
        // A call of one of our tools that the SDK refuses before its handler runs (a protocol error)
        // never reaches the dispatcher, which charges tool calls: it costs one point here instead.
        const refusedEarly = message.points === 0 && dispatchEra(message.body, standardHeaders(req.headers)) === undefined;
        if (refusedEarly && !(await charged(req, res, message, UNLISTED_POINTS))) return;
        options.operation?.()?.watchResponse(res);
        await sdkNode(req, res, message.body);
        return;
      }
      // Closing the response stream cancels the request (2026-07-28) and aborts its backend call.
      const abort = new AbortController();
      inFlight.add(abort);
      const onClose = () => {
        if (!res.writableFinished) abort.abort();
      };
      res.once('close', onClose);
      const reply = createLeanReply(res, call.progressToken);
      try {
        const result = await dispatcher.call(call.name, call.arguments, {
          signal: abort.signal,
          caller: callerOf(req),
          requestId: options.requestId(),
          progress: reply.progress,
        });
        if (abort.signal.aborted) return; // nothing more may be sent for a cancelled request
        reply.end(encodeLeanResult(call, result));
      } catch (err) {
        // The client closed the stream: its call was cancelled, and there is no one to answer.
        if (abort.signal.aborted) return;
        logger.error({ err, tool: call.name }, 'tool call failed inside the gateway');
        options.operation?.()?.rpcError('-32603');
        reply.end(rpcErrorBody(-32603, 'Internal error', call.id));
      } finally {
        inFlight.delete(abort);
        res.off('close', onClose);
      }
    },
    async close() {
      for (const a of inFlight) a.abort();
      await sdk.close();
    },
  };
}
