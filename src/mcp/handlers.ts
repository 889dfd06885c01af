// The handlers of this gateway's own that the SDK's server runs, one per method the table
// (methods.ts) gives a handler: tools/list, tools/call, and the Tasks extension's tasks/get,
// tasks/update and tasks/cancel. Each is made once per gateway from its dependencies and
// registered on every per-request server (server.ts).
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
import type { TaskRequestContext, TaskService } from './tasks/task-service.ts';
import { declaresTasks, ofTasksRevision, taskParams, tasksNotDeclared, tasksNotInThisEra } from './tasks/wire.ts';

export interface HandlerDeps {
  dispatcher: ToolDispatcher;
  tasks: TaskService;
  /** The id of the HTTP request being served, for logs and audit. */
  requestId: () => string | undefined;
}

/** A handler of ours for the request method M, made from the gateway's dependencies. */
export type MethodHandler<M extends RequestMethod> = (
  deps: HandlerDeps,
) => (request: RequestTypeMap[M], ctx: ServerContext) => HandlerResultTypeMap[M] | Promise<HandlerResultTypeMap[M]>;

/**
 * A handler of an extension's method, which the SDK routes only when registered with its params
 * schema (the 3-argument setRequestHandler): it receives the parsed params.
 */
export interface ExtensionHandler {
  params: typeof taskParams;
  handle(params: { taskId: string }, ctx: ServerContext): Promise<object>;
}

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
  const token = ctx.mcpReq._meta?.progressToken;
  const progress: ProgressSender | undefined =
    token === undefined
      ? undefined
      : (update) => ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, ...update } });
  const context = { signal: ctx.mcpReq.signal, caller: callerOf(ctx), requestId: deps.requestId(), progress };
  // A client that declared the Tasks extension: a wait becomes a task, which sends no progress
  // notifications (a wait answered in the call, when no task can be made, still does).
  if (declaresTasks(ctx.mcpReq.envelope)) return deps.tasks.call(name, args, context) as Promise<HandlerResultTypeMap['tools/call']>;
  return deps.dispatcher.call(name, args, context);
};

/** tasks/get, tasks/update and tasks/cancel: each needs the extension declared on its own request. */
function taskHandler(run: (tasks: TaskService, taskId: string, context: TaskRequestContext) => Promise<object>) {
  return (deps: HandlerDeps): ExtensionHandler => ({
    params: taskParams,
    async handle(params, ctx) {
      // A 2025-era request: its retired tasks are another wire, not served here.
      if (!ofTasksRevision(ctx.mcpReq.envelope)) throw tasksNotInThisEra();
      if (!declaresTasks(ctx.mcpReq.envelope)) throw tasksNotDeclared();
      return run(deps.tasks, params.taskId, { caller: callerOf(ctx), requestId: deps.requestId(), signal: ctx.mcpReq.signal });
    },
  });
}

export const serveTaskGet = taskHandler((tasks, taskId, context) => tasks.get(taskId, context));
export const serveTaskCancel = taskHandler(async (tasks, taskId, context) => {
  await tasks.cancel(taskId, context);
  return {};
});
export const serveTaskUpdate = taskHandler((tasks, taskId, context) => tasks.update(taskId, context));

function callerOf(ctx: ServerContext): Caller | undefined {
  return (ctx.http?.authInfo?.extra as { caller?: Caller } | undefined)?.caller;
}
