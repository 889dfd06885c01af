// The MCP endpoint for both protocol eras, with no sessions: any replica answers any call.
// - 2026-07-28 requests (the per-request `_meta` envelope, `server/discover`) and 2025-era clients
//   (`initialize`, then stateless calls) are served by the SDK's createMcpHandler, which owns the
//   era classification, the header checks and every protocol error;
// - a plain tools/call of one of our tools takes the lean path (lean-path.ts) in either era;
// - JSON-RPC batches are refused in both eras (removed from the protocol in 2025-06-18).
// Guards, authentication and scope checks run before this (http/app.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createMcpHandler, type AuthInfo, type Server } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { Caller } from '../jobs/caller.ts';
import type { ToolDispatcher } from './dispatch.ts';
import { createLeanPathFilter, createLeanResultEncoder } from './lean-path.ts';
import { rpcError } from './rpc-error.ts';
import type { OperationHandle } from '../observability/mcp-operations.ts';

export interface McpEndpointOptions {
  dispatcher: ToolDispatcher;
  /** Builds the SDK server for one request (server.ts). */
  createServer: () => Server;
  info: { name: string; version: string };
  maxBodyBytes: number;
  logger: Logger;
  /** The id of the HTTP request being served, for logs and audit. */
  requestId: () => string | undefined;
  /** The MCP message being served (metrics, traces), if tracked. */
  operation?: () => OperationHandle | undefined;
}

export interface McpEndpoint {
  /** Serves one POST whose JSON body has been parsed. */
  handlePost(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown): Promise<void>;
  /** Aborts calls in progress (graceful stop, after the grace period). */
  close(): Promise<void>;
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
  const leanToolCall = createLeanPathFilter(dispatcher.has);
  const encodeLeanResult = createLeanResultEncoder(options.info);

  return {
    async handlePost(req, res, body) {
      if (Array.isArray(body)) {
        rpcError(res, 400, -32600, 'Invalid Request: JSON-RPC batches are not supported; send one message per request.');
        return;
      }
      const call = leanToolCall(req.headers, body);
      if (!call) {
        options.operation?.()?.watchResponse(res);
        await sdkNode(req, res, body);
        return;
      }
      // Closing the response stream cancels the request (2026-07-28) and aborts its backend call.
      const abort = new AbortController();
      inFlight.add(abort);
      const onClose = () => {
        if (!res.writableFinished) abort.abort();
      };
      res.once('close', onClose);
      try {
        const caller = (req.auth?.extra as { caller?: Caller } | undefined)?.caller;
        const result = await dispatcher.call(call.name, call.arguments, { signal: abort.signal, caller, requestId: options.requestId() });
        if (abort.signal.aborted) return; // nothing more may be sent for a cancelled request
        const text = encodeLeanResult(call, result);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      } catch (err) {
        // The client closed the stream: its call was cancelled, and there is no one to answer.
        if (abort.signal.aborted) return;
        logger.error({ err, tool: call.name }, 'tool call failed inside the gateway');
        options.operation?.()?.rpcError('-32603');
        rpcError(res, 200, -32603, 'Internal error', {}, call.id);
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
