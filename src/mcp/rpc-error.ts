// A JSON-RPC error answer with an HTTP status, the shape every refusal on the MCP endpoint takes
// (guards, authentication, the endpoint itself), so clients can always parse it. It is part of the
// MCP layer, which http/ and auth/ build on, so every layer that refuses a request can use it.
import type { ServerResponse } from 'node:http';

export function rpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
  id: string | number | null = null,
  data?: Record<string, unknown>,
): void {
  if (res.headersSent) return;
  const body = rpcErrorBody(code, message, id, data);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/** The JSON text of a JSON-RPC error answer. */
export function rpcErrorBody(code: number, message: string, id: string | number | null = null, data?: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', error: data === undefined ? { code, message } : { code, message, data }, id });
}
