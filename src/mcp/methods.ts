// The MCP methods this gateway serves, in one table: who serves each (a handler of ours, or the SDK's
// own machinery), the scope a caller needs, what a call costs of the caller's budget, its label in metrics and
// traces, and whether the lean path may answer it. A request or notification naming any other
// method is refused before any handler runs (deny by default: endpoint.ts). Every other list of
// methods derives from this table: the handlers registered on the SDK's server (server.ts), the
// scope check (auth/middleware.ts reads the scope resolved here), the lean path's check
// (lean-path.ts) and the methods the operation metric names (observability/mcp-operations.ts).
import type { NotificationMethod, RequestMethod } from '@modelcontextprotocol/server';
import { UNLISTED_POINTS, type BudgetPoints, type ScopeName, type ToolPolicy } from './policy.ts';
import {
  serveTaskCancel,
  serveTaskGet,
  serveTaskUpdate,
  serveToolCall,
  serveToolList,
  type ExtensionHandler,
  type HandlerDeps,
  type MethodHandler,
} from './handlers.ts';

/** The methods this gateway serves. */
export type McpMethod =
  | 'initialize'
  | 'ping'
  | 'server/discover'
  | 'subscriptions/listen'
  | 'tools/list'
  | 'tools/call'
  | TaskMethod
  | 'notifications/initialized'
  | 'notifications/cancelled';

/** The method whose scope and budget are the called tool's, and the only one the lean path answers. */
type ToolCall = 'tools/call';

/** The Tasks extension's methods (2026-07-28; tasks/result and tasks/list are gone from it). */
const TASK_METHODS = ['tasks/get', 'tasks/update', 'tasks/cancel'] as const;
export type TaskMethod = (typeof TASK_METHODS)[number];

export interface MethodPolicy<M extends McpMethod = McpMethod> {
  /** A request (answered) or a notification (never answered); a message of the other kind with this name is refused. */
  readonly kind: M extends NotificationMethod ? 'notification' : 'request';
  /** Who serves it: a handler of ours, registered on the SDK's server (handlers.ts), or 'sdk', the SDK's own machinery. */
  readonly handler:
    'sdk' | (M extends TaskMethod ? (deps: HandlerDeps) => ExtensionHandler : M extends RequestMethod ? MethodHandler<M> : never);
  /**
   * The scope a caller needs. Every message needs read; a method that acts names the scope that lets
   * it act. tools/call takes the called tool's ('tool'): each tool declares its own, and a name that
   * is no tool needs read (its handler answers -32602).
   */
  readonly scope: M extends ToolCall ? 'tool' : ScopeName;
  /**
   * What a message costs of its caller's budget (caller-rate-limit.ts): points, never nothing (the
   * endpoint takes them before serving it); for tools/call, what the called tool declares (the
   * dispatcher takes them), and for a tools/call naming no tool of ours, one point (the endpoint).
   */
  readonly budget: M extends ToolCall ? 'tool' : BudgetPoints;
  /** Its mcp.method.name in metrics and spans: the method's own name, as the semantic conventions ask. */
  readonly label: M;
  /** Whether the lean path (lean-path.ts) may answer it; it knows how to answer tools/call only. */
  readonly lean: M extends ToolCall ? boolean : false;
}

export const MCP_METHODS = {
  // The 2025-era handshake, served by the SDK (it answers -32601 for it in 2026-07-28).
  initialize: { kind: 'request', handler: 'sdk', scope: 'read', budget: 1, label: 'initialize', lean: false },
  ping: { kind: 'request', handler: 'sdk', scope: 'read', budget: 1, label: 'ping', lean: false },
  // 2026-07-28: the server's versions and capabilities, and the stream of list-changed notifications.
  'server/discover': { kind: 'request', handler: 'sdk', scope: 'read', budget: 1, label: 'server/discover', lean: false },
  'subscriptions/listen': { kind: 'request', handler: 'sdk', scope: 'read', budget: 1, label: 'subscriptions/listen', lean: false },
  'tools/list': { kind: 'request', handler: serveToolList, scope: 'read', budget: 1, label: 'tools/list', lean: false },
  'tools/call': { kind: 'request', handler: serveToolCall, scope: 'tool', budget: 'tool', label: 'tools/call', lean: true },
  // The Tasks extension: a poll costs a point like any message. Each reads only the caller's own
  // tasks, and a task's creation already needed its tool's scope, so read is enough.
  'tasks/get': { kind: 'request', handler: serveTaskGet, scope: 'read', budget: 1, label: 'tasks/get', lean: false },
  'tasks/update': { kind: 'request', handler: serveTaskUpdate, scope: 'read', budget: 1, label: 'tasks/update', lean: false },
  'tasks/cancel': { kind: 'request', handler: serveTaskCancel, scope: 'read', budget: 1, label: 'tasks/cancel', lean: false },
  'notifications/initialized': {
    kind: 'notification',
    handler: 'sdk',
    scope: 'read',
    budget: 1,
    label: 'notifications/initialized',
    lean: false,
  },
  'notifications/cancelled': {
    kind: 'notification',
    handler: 'sdk',
    scope: 'read',
    budget: 1,
    label: 'notifications/cancelled',
    lean: false,
  },
} as const satisfies { readonly [M in McpMethod]: MethodPolicy<M> };

/** The table's entry for a method name from a body (a name the table lacks, `constructor` among them, has none). */
export function methodPolicy(method: string): MethodPolicy | undefined {
  return Object.hasOwn(MCP_METHODS, method) ? MCP_METHODS[method as McpMethod] : undefined;
}

/** One of our handlers, made from the gateway's dependencies: a spec method's, or an extension's (with its params schema). */
export type MadeHandler =
  { method: RequestMethod; handler: unknown; extension?: undefined } | { method: TaskMethod; extension: ExtensionHandler };

/** Whether a method is one of the Tasks extension's. */
export function isTaskMethod(method: string | undefined): method is TaskMethod {
  return (TASK_METHODS as readonly (string | undefined)[]).includes(method);
}

/** Our handlers, each made once from the gateway's dependencies, with the method it serves. */
export function methodHandlers(deps: HandlerDeps): MadeHandler[] {
  const out: MadeHandler[] = [];
  for (const [method, policy] of Object.entries(MCP_METHODS) as [McpMethod, MethodPolicy][]) {
    if (policy.handler === 'sdk') continue;
    const made = (policy.handler as (deps: HandlerDeps) => unknown)(deps);
    if (isTaskMethod(method)) out.push({ method: method as TaskMethod, extension: made as ExtensionHandler });
    else out.push({ method: method as RequestMethod, handler: made });
  }
  return out;
}

/** One parsed body, placed in the table. */
export interface InboundMessage {
  /** The body as parsed. */
  readonly body: unknown;
  /**
   * request: a method and an id; notification: a method and no id; other: anything else (a response
   * to the server, a batch, a body that is no JSON-RPC message), which the SDK answers.
   */
  readonly kind: 'request' | 'notification' | 'other';
  /** `method` of the body, when it is a string. */
  readonly method: string | undefined;
  /** The table's entry for the method, when it has one for this kind of message; undefined: refused (or not a method at all). */
  readonly policy: MethodPolicy | undefined;
  /** A request's id. */
  readonly id: string | number | undefined;
  readonly params: Record<string, unknown> | undefined;
  /** For tools/call: the tool named by params.name. */
  readonly toolName: string | undefined;
  /** That tool's policy, when it is a tool this gateway serves. */
  readonly tool: ToolPolicy | undefined;
  /** The scope the caller needs, from the table (and for tools/call the tool's); read for anything the table lacks. */
  readonly scope: ScopeName;
  /**
   * What the endpoint takes from the caller's budget before serving the message: the entry's points,
   * one for anything the table lacks (and a tools/call naming no tool of ours); 0 only for a
   * tools/call of one of our tools, whose points the dispatcher takes as the tool declares.
   */
  readonly points: BudgetPoints | 0;
}

/** Places each parsed body in the table; `toolPolicy` tells the tools this gateway serves (dispatch.ts). */
export function createMessageResolver(toolPolicy: (name: string) => ToolPolicy | undefined): (body: unknown) => InboundMessage {
  return (body) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return otherMessage(body);
    const msg = body as { jsonrpc?: unknown; method?: unknown; id?: unknown; params?: unknown };
    const method = typeof msg.method === 'string' ? msg.method : undefined;
    const params = isRecord(msg.params) ? msg.params : undefined;
    const toolName = method === 'tools/call' && typeof params?.name === 'string' ? params.name : undefined;
    const tool = toolName === undefined ? undefined : toolPolicy(toolName);
    let kind: InboundMessage['kind'] = 'other';
    if (method !== undefined && msg.jsonrpc === '2.0' && (msg.params === undefined || params !== undefined)) {
      if (!('id' in msg)) kind = 'notification';
      else if (typeof msg.id === 'string' || Number.isInteger(msg.id)) kind = 'request';
    }
    const entry = kind === 'other' ? undefined : methodPolicy(method!);
    const policy = entry?.kind === kind ? entry : undefined;
    const scope = policy === undefined ? 'read' : policy.scope === 'tool' ? (tool?.scope ?? 'read') : policy.scope;
    const id = kind === 'request' ? (msg.id as string | number) : undefined;
    const points =
      policy === undefined ? UNLISTED_POINTS : policy.budget !== 'tool' ? policy.budget : tool === undefined ? UNLISTED_POINTS : 0;
    return { body, kind, method, policy, id, params, toolName, tool, scope, points };
  };
}

function otherMessage(body: unknown): InboundMessage {
  return {
    body,
    kind: 'other',
    method: undefined,
    policy: undefined,
    id: undefined,
    params: undefined,
    toolName: undefined,
    tool: undefined,
    scope: 'read',
    points: UNLISTED_POINTS,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
