// Where the SDK would hand a message to its method's handler, judged with the SDK's own classifier
// (classifyInboundRequest): the gateway answers a request itself (the lean path, a refusal of a
// method the table lacks) only when the SDK would have reached that point, so every protocol error
// of an earlier rung (a malformed envelope, a header that disagrees with the body, an unsupported
// version) stays the SDK's answer. When that is not certain (a header to decode, a version the
// gateway does not answer itself), the message goes to the SDK.
import type { IncomingHttpHeaders } from 'node:http';
import { classifyInboundRequest } from '@modelcontextprotocol/server';

/** Revisions the gateway answers itself; any other goes to the SDK. */
export const MODERN_VERSIONS: ReadonlySet<string> = new Set(['2026-07-28']);
export const LEGACY_VERSIONS: ReadonlySet<string> = new Set(['2025-11-25', '2025-06-18', '2025-03-26']);

export type Era = 'modern' | 'legacy';

/** The standard headers of one request, trimmed. */
export interface StandardHeaders {
  version: string | undefined;
  method: string | undefined;
  name: string | undefined;
}

export function standardHeaders(headers: IncomingHttpHeaders): StandardHeaders {
  return { version: header(headers, 'mcp-protocol-version'), method: header(headers, 'mcp-method'), name: header(headers, 'mcp-name') };
}

/**
 * The era in which the SDK would dispatch this JSON-RPC request or notification to its method, or
 * undefined when it would answer it on an earlier rung, or may. A 2026-07-28 request must carry the
 * standard headers, equal to the body (Mcp-Name to the params.name, uri or taskId it mirrors).
 */
export function dispatchEra(body: unknown, headers: StandardHeaders): Era | undefined {
  const verdict = classifyInboundRequest({
    httpMethod: 'POST',
    body,
    ...(headers.version !== undefined ? { protocolVersionHeader: headers.version } : {}),
    ...(headers.method !== undefined ? { mcpMethodHeader: headers.method } : {}),
    ...(headers.name !== undefined ? { mcpNameHeader: headers.name } : {}),
  });
  if (verdict.kind === 'reject') return undefined;
  if (verdict.kind === 'legacy') return headers.version === undefined || LEGACY_VERSIONS.has(headers.version) ? 'legacy' : undefined;
  const revision = verdict.classification.revision;
  if (revision === undefined || !MODERN_VERSIONS.has(revision)) return undefined;
  if (verdict.messageKind === 'notification') return 'modern';
  const { method, params } = verdict.message;
  return headers.version === revision && headers.method === method && headers.name === mirroredName(params) ? 'modern' : undefined;
}

/** The value an Mcp-Name header mirrors: params.name, uri or taskId. */
function mirroredName(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const p = params as { name?: unknown; uri?: unknown; taskId?: unknown };
  for (const v of [p.name, p.uri, p.taskId]) if (typeof v === 'string') return v;
  return undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v.trim() : undefined;
}
