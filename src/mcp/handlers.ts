// The handlers of this gateway's own that the SDK's server runs, one per method the table
// (methods.ts) gives a handler: tools/list and tools/call. Each is made once per gateway from its
// dependencies and registered on every per-request server (server.ts).
import {
  ProtocolError,
  ProtocolErrorCode,
  type HandlerResultTypeMap,
  type RequestMethod,
  type RequestTypeMap,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { Caller } from '../jobs/caller.ts';
import type { ProgressSender, ToolDispatcher } from './dispatch.ts';

export interface HandlerDeps {
  dispatcher: ToolDispatcher;
  /** The id of the HTTP request being served, for logs and audit. */
  requestId: () => string | undefined;
}

/** A handler of ours for the request method M, made from the gateway's dependencies. */
export type MethodHandler<M extends RequestMethod> = (
  deps: HandlerDeps,
) => (request: RequestTypeMap[M], ctx: ServerContext) => HandlerResultTypeMap[M] | Promise<HandlerResultTypeMap[M]>;

/** tools/list: every tool, the same list for every caller (built once). */
export const serveToolList: MethodHandler<'tools/list'> = (deps) => {
  const listResult = { tools: [...deps.dispatcher.tools] };
  return () => listResult;
};

/**
 * tools/call through the SDK (the lean path answers the plain calls itself): an unknown tool is the
 * JSON-RPC error -32602 the spec asks for; everything else is the dispatcher's, as on the lean path.
 */
export const serveToolCall: MethodHandler<'tools/call'> = (deps) => async (request, ctx) => {
  const { name, arguments: args } = request.params;
  if (!deps.dispatcher.has(name)) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name.slice(0, 128)}`);
  const caller = (ctx.http?.authInfo?.extra as { caller?: Caller } | undefined)?.caller;
  const token = ctx.mcpReq._meta?.progressToken;
  const progress: ProgressSender | undefined =
    token === undefined
      ? undefined
      : (update) => ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, ...update } });
  return deps.dispatcher.call(name, args, { signal: ctx.mcpReq.signal, caller, requestId: deps.requestId(), progress });
};
