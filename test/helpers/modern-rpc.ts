// One raw 2026-07-28 JSON-RPC request, as a client that takes MCP tasks sends it: the per-request
// envelope (declaring io.modelcontextprotocol/tasks unless told not to) and the standard headers
// (Mcp-Name from params.name or taskId unless told otherwise), so a test sees every field, header
// and error code as sent and answered.

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
const MODERN = '2026-07-28';

export interface RpcAnswer {
  status: number;
  /** The answer's Content-Type: application/json, or text/event-stream when notifications came first. */
  contentType: string;
  /** The messages before the answer on an event stream (notifications). */
  before: unknown[];
  result?: Record<string, any>;
  error?: { code: number; message: string; data?: any };
}

export interface RpcOptions {
  /** false: the envelope declares no extension. */
  declare?: boolean;
  token?: string | undefined;
  /** The Mcp-Name header: null sends none; default: the one params.name or taskId implies. */
  name?: string | null;
  /** More headers (a traceparent). */
  headers?: Record<string, string>;
  /** More `_meta` keys (a progress token). */
  meta?: Record<string, unknown>;
}

export async function modernRpc(
  url: string,
  method: string,
  params: Record<string, unknown>,
  options: RpcOptions = {},
): Promise<RpcAnswer> {
  const capabilities = options.declare === false ? {} : { extensions: { [TASKS_EXTENSION]: {} } };
  const meta = {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    ...options.meta,
  };
  const implied = (params.name ?? params.taskId) as string | undefined;
  const name = options.name === undefined ? implied : options.name;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      ...(name !== null && name !== undefined ? { 'mcp-name': name } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }),
  });
  const text = await res.text();
  // A JSON body, or an event stream whose last message is the answer.
  const messages = text.startsWith('{')
    ? [text]
    : text
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6));
  const body = JSON.parse(messages.at(-1)!) as { result?: Record<string, any>; error?: RpcAnswer['error'] };
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    before: messages.slice(0, -1).map((m) => JSON.parse(m) as unknown),
    ...(body.result ? { result: body.result } : {}),
    ...(body.error ? { error: body.error } : {}),
  };
}
