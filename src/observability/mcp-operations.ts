// Each MCP message the endpoint serves, from its parsed body to the end of its response: the
// `mcp.server.operation.duration` histogram of the MCP semantic conventions (always) and, with
// tracing on, the server span. The outcome is read where it shows: a tool's error from the tool
// call, a JSON-RPC error from the response's first bytes, else an HTTP error status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayMetrics } from './metrics.ts';
import { GATEWAY_ATTRIBUTES, type McpOperation, type ServerSpan, type Tracing } from './tracing.ts';

/** The methods of MCP (2025-11-25 and 2026-07-28); others are `_OTHER`, so names and labels stay bounded. */
const METHODS = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'tasks/get',
  'tasks/list',
  'tasks/result',
  'tasks/cancel',
]);
const VERSIONS = new Set(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28']);
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
/** `"error":{"code":-32602` at the start of a JSON-RPC answer (or of an SSE event carrying one). */
const RPC_ERROR = /"error":\{"code":(-?\d{1,6})/;

/** What a served MCP message still learns while it runs. */
export interface OperationHandle {
  /** The server span, with tracing on. */
  readonly span: ServerSpan | undefined;
  /**
   * The SDK serves this message: its JSON-RPC errors are read from the response. (The lean path's
   * answers are tool results, so its requests are spared the reading.)
   */
  watchResponse(res: ServerResponse): void;
  /** The message was answered with this JSON-RPC error code. */
  rpcError(code: string): void;
  /** The response is closed: records the duration, ends the span (the request's close hook calls it). */
  end(statusCode: number): void;
  /** A tool call's answer: its project and backend, and whether it was a tool error (with its code). */
  toolResult(result: {
    project?: string | undefined;
    backend?: { name: string; kind: string } | undefined;
    errorCode?: string | undefined;
    /** The tool's arguments as JSON, only when the operator opted in (tracing.record_tool_arguments). */
    arguments?: string | undefined;
  }): void;
}

export interface OperationTrackerDeps {
  metrics: GatewayMetrics;
  /** The tracing of this gateway, once started (undefined: off). */
  tracing: () => Tracing | undefined;
  /** Whether a tool name is one this gateway serves (others are `_OTHER`). */
  isTool: (name: string) => boolean;
}

/** Starts tracking one parsed MCP body; undefined for what is not one message (a batch, a response). */
export function createOperationTracker(deps: OperationTrackerDeps) {
  return function track(req: IncomingMessage, body: unknown): OperationHandle | undefined {
    const op = describeMcpMessage(body, req.headers, deps.isTool);
    if (!op) return undefined;
    return new TrackedOperation(deps.metrics, op, deps.tracing()?.startServer(op, req.headers));
  };
}

// One object per MCP request and no closures: this runs on every call. It holds bounded words only
// (no request, response or body), since the request's async context keeps it as long as anything
// started in that context lives.
class TrackedOperation implements OperationHandle {
  private readonly started = performance.now();
  private errorType: string | undefined;
  private rpcCode: string | undefined;
  private readonly metrics: GatewayMetrics;
  private readonly method: string;
  private readonly tool: string | undefined;
  private readonly version: string | undefined;
  readonly span: ServerSpan | undefined;

  constructor(metrics: GatewayMetrics, op: McpOperation, span: ServerSpan | undefined) {
    this.metrics = metrics;
    this.method = op.method;
    this.tool = op.tool;
    this.version = op.protocolVersion;
    this.span = span;
  }

  watchResponse(res: ServerResponse): void {
    watchRpcErrors(res, (code) => this.rpcError(code));
  }

  rpcError(code: string): void {
    this.rpcCode ??= code;
  }

  toolResult(result: Parameters<OperationHandle['toolResult']>[0]): void {
    if (result.errorCode !== undefined) this.errorType = 'tool_error'; // the conventions' word for isError results
    this.span?.set({
      [GATEWAY_ATTRIBUTES.project]: result.project,
      [GATEWAY_ATTRIBUTES.backendName]: result.backend?.name,
      [GATEWAY_ATTRIBUTES.backendKind]: result.backend?.kind,
      [GATEWAY_ATTRIBUTES.errorCode]: result.errorCode,
      'gen_ai.tool.call.arguments': result.arguments,
    });
  }

  end(statusCode: number): void {
    const type = this.rpcCode ?? this.errorType ?? (statusCode >= 400 ? String(statusCode) : undefined);
    this.metrics.mcpOperation(this.method, this.tool, this.version, type, (performance.now() - this.started) / 1000);
    if (this.span) {
      if (type !== undefined) this.span.fail(type, this.rpcCode);
      this.span.end();
    }
  }
}

export function describeMcpMessage(
  body: unknown,
  headers: IncomingMessage['headers'],
  isTool: (name: string) => boolean,
): McpOperation | undefined {
  if (!isRecord(body) || typeof body.method !== 'string') return undefined;
  const method = METHODS.has(body.method) ? body.method : '_OTHER';
  const params = isRecord(body.params) ? body.params : undefined;
  const meta = params && isRecord(params._meta) ? params._meta : undefined;
  const header = headers['mcp-protocol-version'];
  const claimed =
    typeof header === 'string' ? header : (meta?.[PROTOCOL_VERSION_KEY] ?? (method === 'initialize' ? params?.protocolVersion : undefined));
  const id = body.id;
  return {
    method,
    tool: method === 'tools/call' && typeof params?.name === 'string' ? (isTool(params.name) ? params.name : '_OTHER') : undefined,
    jsonrpcId: typeof id === 'string' ? id.slice(0, 128) : typeof id === 'number' ? String(id) : undefined,
    protocolVersion: typeof claimed === 'string' ? (VERSIONS.has(claimed) ? claimed : '_OTHER') : undefined,
    meta,
  };
}

/** Calls `onError` with the code of a JSON-RPC error the response carries (its JSON, or an SSE event's). */
function watchRpcErrors(res: ServerResponse, onError: (code: string) => void): void {
  const inspect = (chunk: unknown) => {
    let head: string;
    if (typeof chunk === 'string') head = chunk.slice(0, 256);
    else if (chunk instanceof Uint8Array)
      head = Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, 256)).toString('latin1');
    else return;
    const m = RPC_ERROR.exec(head);
    if (m) onError(m[1]!);
  };
  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    inspect(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    inspect(chunk);
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as ServerResponse['end'];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
