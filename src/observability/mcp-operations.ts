// Each MCP message the endpoint serves, from its parsed body to the end of its response: the
// `mcp.server.operation.duration` histogram of the MCP semantic conventions (always) and, with
// tracing on, the server span. The outcome is read where it shows: a tool's error from the tool
// call, a JSON-RPC error from the response's first bytes, else an HTTP error status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrackedOperation } from '../http/request-context.ts';
import type { InboundMessage } from '../mcp/methods.ts';
import type { GatewayMetrics } from './metrics.ts';
import { GATEWAY_ATTRIBUTES, type McpOperation, type ServerSpan, type Tracing } from './tracing-api.ts';

/** The label of a method the table of methods (mcp/methods.ts) lacks, and of a tool the gateway does not serve: names and labels stay bounded. */
const OTHER = '_OTHER';
const VERSIONS = new Set(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28']);
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
/** `"error":{"code":-32602` at the start of a JSON-RPC answer (or of an SSE event carrying one). */
const RPC_ERROR = /"error":\{"code":(-?\d{1,6})/;

/**
 * What an operation (an MCP message being served) still learns while it runs: the ports the observed
 * layers declare (mcp/operation.ts, http/request-context.ts), and what gateway.ts reads of it.
 */
export interface OperationHandle extends TrackedOperation {
  /** The server span, with tracing on. */
  readonly span: ServerSpan | undefined;
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
}

/** Starts tracking one parsed MCP message; undefined for what names no method (a batch, a response). */
export function createOperationTracker(
  deps: OperationTrackerDeps,
): (req: IncomingMessage, message: InboundMessage) => OperationHandle | undefined {
  return function track(req, message) {
    const op = describeMcpMessage(message, req.headers);
    if (!op) return undefined;
    return new ServedOperation(deps.metrics, op, deps.tracing()?.startServer(op, req.headers));
  };
}

// One object per MCP request and no closures: this runs on every call. It holds bounded words only
// (no request, response or body), since the request's async context keeps it as long as anything
// started in that context lives.
class ServedOperation implements OperationHandle {
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

/** What is known of a message when its operation starts; the method's label comes from the table of methods. */
export function describeMcpMessage(message: InboundMessage, headers: IncomingMessage['headers']): McpOperation | undefined {
  if (message.method === undefined) return undefined;
  const method = message.policy?.label ?? OTHER;
  const params = message.params;
  const meta = params && isRecord(params._meta) ? params._meta : undefined;
  const header = headers['mcp-protocol-version'];
  const claimed =
    typeof header === 'string' ? header : (meta?.[PROTOCOL_VERSION_KEY] ?? (method === 'initialize' ? params?.protocolVersion : undefined));
  const id = (message.body as { id?: unknown }).id;
  return {
    method,
    tool: method === 'tools/call' && message.toolName !== undefined ? (message.tool ? message.toolName : OTHER) : undefined,
    jsonrpcId: typeof id === 'string' ? id.slice(0, 128) : typeof id === 'number' ? String(id) : undefined,
    protocolVersion: typeof claimed === 'string' ? (VERSIONS.has(claimed) ? claimed : OTHER) : undefined,
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
  // Both are called with the response as `this` below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const write = res.write;
  // eslint-disable-next-line @typescript-eslint/unbound-method
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
