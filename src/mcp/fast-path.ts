// The lean path for the hot method: a plain, well-formed tools/call of one of our tools, in either
// era, answered without building an SDK server, a web Request and a per-request transport (the
// profile showed those to cost most of a call). It only ever *accepts* a request the SDK would
// serve the same way; anything unusual (a ladder rejection, a header that needs decoding, a
// progress token, a version the SDK may treat differently) goes to the SDK, which owns every error.
// The era decision is the SDK's own classifier, so the two paths cannot disagree on it.
import type { IncomingHttpHeaders } from 'node:http';
import { SERVER_INFO_META_KEY, classifyInboundRequest, type CallToolResult } from '@modelcontextprotocol/server';

/** Revisions the lean path answers; any other goes to the SDK. */
const MODERN_VERSIONS = new Set(['2026-07-28']);
const LEGACY_VERSIONS = new Set(['2025-11-25', '2025-06-18', '2025-03-26']);
/** params keys a plain tools/call has; anything else (e.g. a task request) goes to the SDK. */
const PLAIN_PARAMS = new Set(['name', 'arguments', '_meta']);

export interface LeanCall {
  era: 'modern' | 'legacy';
  id: string | number;
  name: string;
  arguments: unknown;
}

/** The call, when this request may take the lean path; undefined sends it to the SDK. */
export function leanToolCall(headers: IncomingHttpHeaders, body: unknown, isOurTool: (name: string) => boolean): LeanCall | undefined {
  const msg = body as { method?: unknown; id?: unknown; params?: Record<string, unknown> } | null;
  if (typeof msg !== 'object' || msg === null || msg.method !== 'tools/call') return undefined;
  const params = msg.params;
  if (typeof params !== 'object' || params === null || typeof params.name !== 'string' || !isOurTool(params.name)) return undefined;
  for (const key in params) if (!PLAIN_PARAMS.has(key)) return undefined;
  const meta = params._meta as Record<string, unknown> | undefined;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || 'progressToken' in meta)) return undefined;

  const version = header(headers, 'mcp-protocol-version');
  const method = header(headers, 'mcp-method');
  const mcpName = header(headers, 'mcp-name');
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    body,
    ...(version !== undefined ? { protocolVersionHeader: version } : {}),
    ...(method !== undefined ? { mcpMethodHeader: method } : {}),
    ...(mcpName !== undefined ? { mcpNameHeader: mcpName } : {}),
  });
  if (outcome.kind === 'modern') {
    // The standard headers must all be there and match the body exactly (the SDK decodes the
    // =?base64?…?= form and answers every missing or mismatching header: leave those to it).
    if (outcome.messageKind !== 'request' || !MODERN_VERSIONS.has(outcome.classification.revision ?? '')) return undefined;
    if (version !== outcome.classification.revision || method !== 'tools/call' || mcpName !== params.name) return undefined;
    return { era: 'modern', id: outcome.message.id, name: params.name, arguments: params.arguments };
  }
  if (outcome.kind === 'legacy' && outcome.reason === 'no-claim') {
    if (version !== undefined && !LEGACY_VERSIONS.has(version)) return undefined;
    const id = msg.id;
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    return { era: 'legacy', id, name: params.name, arguments: params.arguments };
  }
  return undefined;
}

/**
 * The JSON-RPC answer, as the SDK encodes it for each era: a 2026-07-28 result carries
 * `resultType` and the server's identity in `_meta`; a 2025-era result is the bare result.
 */
export function encodeLeanResult(call: LeanCall, result: CallToolResult, serverInfo: { name: string; version: string }): string {
  const body = call.era === 'modern' ? { ...result, resultType: 'complete', _meta: { [SERVER_INFO_META_KEY]: serverInfo } } : result;
  return JSON.stringify({ jsonrpc: '2.0', id: call.id, result: body });
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v.trim() : undefined;
}
