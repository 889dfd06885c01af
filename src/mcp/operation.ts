// The port the MCP endpoint reports through about the operation it serves (one MCP message, from its
// parsed body to its response): the layer that is observed declares what it tells, and
// observability/mcp-operations.ts implements it (gateway.ts wires the two).
import type { ServerResponse } from 'node:http';

export interface OperationRecorder {
  /**
   * The SDK answers this message: its JSON-RPC errors are read from the response. (The lean path's
   * answers are tool results, so its requests are spared the reading.)
   */
  watchResponse(res: ServerResponse): void;
  /** The message was answered with this JSON-RPC error code. */
  rpcError(code: string): void;
}
