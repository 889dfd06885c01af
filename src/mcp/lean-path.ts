// The lean path for the hot method: a plain, well-formed tools/call of one of our tools, in either
// era, answered without building an SDK server, a web Request and a per-request transport (see
// docs/performance.md). Only a method whose entry in the table (methods.ts) allows it may take it.
// It only ever *accepts* a request the SDK would serve the same way; anything unusual (a ladder
// rejection, a header that needs decoding, a progress token that is not a string or an integer, a
// version the SDK may treat differently) goes to the SDK, which owns every error. The era decision
// for a 2026-07-28 envelope is the SDK's own classifier (eras.ts). A call with a progress token
// takes it too: its heartbeats are written as the SDK streams them (lean-reply.ts).
import type { IncomingHttpHeaders } from 'node:http';
import { SERVER_INFO_META_KEY } from '@modelcontextprotocol/server';
import { LEGACY_VERSIONS, dispatchEra, standardHeaders } from './eras.ts';
import type { InboundMessage } from './methods.ts';
import { declaresTasks } from './tasks/wire.ts';
import type { ProgressToken } from './lean-reply.ts';
import { STRUCTURED_JSON, type ToolResult } from './tools/results.ts';

/** params keys a plain tools/call has; anything else (e.g. a task request) goes to the SDK. */
const PLAIN_PARAMS = new Set(['name', 'arguments', '_meta']);

export interface LeanCall {
  era: 'modern' | 'legacy';
  id: string | number;
  name: string;
  arguments: unknown;
  /** The client's progress token: the call's heartbeats are sent as progress notifications. */
  progressToken?: ProgressToken;
}

/**
 * `_meta` keys that vary per request and take no part in classification: the reserved W3C trace
 * keys (SEP-414) and the progress token (checked on its own: a string or an integer).
 */
const PER_REQUEST_KEYS = new Set(['traceparent', 'tracestate', 'baggage', 'progressToken']);
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';

/**
 * The filter, and what its verdict cache holds. The cache is keyed by what callers send, so it is
 * bounded by bytes as well as entries: whatever envelopes callers send, it holds at most `maxBytes`.
 */
export type LeanPathFilter = ((headers: IncomingHttpHeaders, message: InboundMessage) => LeanCall | undefined) & {
  readonly verdictCache: () => VerdictCacheUse;
};

/** The verdict cache's accounted use and its bounds. */
export interface VerdictCacheUse {
  readonly entries: number;
  /** Accounted bytes: each key at 2 bytes a character (V8's widest string form) plus VERDICT_ENTRY_BYTES. */
  readonly bytes: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** An envelope whose key is longer is judged every time it is not the last one judged, never kept. */
  readonly maxKeyBytes: number;
}

export interface LeanPathOptions {
  /** Verdicts kept at most (default 1,000). */
  cacheSize?: number;
  /** Accounted bytes of the verdict cache at most (default 1 MiB). */
  cacheBytes?: number;
  /** Longest key kept, in accounted bytes (default 2 KiB: real envelopes are a few hundred bytes). */
  maxKeyBytes?: number;
}

/** What one kept verdict is counted at besides its key: the map entry, the string's header, the boolean. */
export const VERDICT_ENTRY_BYTES = 64;

/**
 * The lean path's filter: the call, when this request may take it; undefined sends it to the SDK.
 * A 2026-07-28 envelope is judged by the SDK's own classifier, so the two paths cannot disagree
 * about it, once per distinct envelope and headers: agents send the same envelope on every call,
 * and the classifier checks the whole body (see docs/performance.md).
 */
export function createLeanPathFilter(options: LeanPathOptions = {}): LeanPathFilter {
  const verdicts = new Map<string, boolean>();
  const cacheSize = options.cacheSize ?? 1000;
  const cacheBytes = options.cacheBytes ?? 1024 * 1024;
  const maxKeyBytes = options.maxKeyBytes ?? 2048;
  let bytes = 0;
  const sizeOf = (key: string) => 2 * key.length + VERDICT_ENTRY_BYTES;
  // The envelope judged last: an agent repeats its envelope, and comparing with it costs less than
  // building the verdict cache's JSON key.
  let last:
    | {
        bodyMethod: string;
        version: string;
        method: string | undefined;
        mcpName: string | undefined;
        name: string;
        envelope: unknown;
        verdict: boolean;
      }
    | undefined;

  function modernEnvelopeAccepted(
    bodyMethod: string,
    name: string,
    meta: Record<string, unknown>,
    version: string,
    method: string | undefined,
    mcpName: string | undefined,
  ): boolean {
    let envelope = meta;
    for (const key in meta) {
      if (PER_REQUEST_KEYS.has(key)) {
        envelope = {}; // a copy without the per-request keys, only when there are some
        for (const k in meta) if (!PER_REQUEST_KEYS.has(k)) envelope[k] = meta[k];
        break;
      }
    }
    if (
      last &&
      last.bodyMethod === bodyMethod &&
      last.version === version &&
      last.method === method &&
      last.mcpName === mcpName &&
      last.name === name &&
      sameJson(last.envelope, envelope, MAX_ENVELOPE_DEPTH)
    ) {
      return last.verdict;
    }
    const key = JSON.stringify([bodyMethod, version, method, mcpName, name, envelope]);
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      // The call without its arguments: the classifier reads the method and the envelope, and the
      // standard headers must all be there and match the body exactly (the SDK decodes the
      // =?base64?…?= form and answers every missing or mismatching header: leave those to it).
      const body = { jsonrpc: '2.0', id: 0, method: bodyMethod, params: { name, _meta: envelope } };
      verdict = dispatchEra(body, { version, method, name: mcpName }) === 'modern';
      const size = sizeOf(key);
      if (size <= maxKeyBytes + VERDICT_ENTRY_BYTES && cacheSize > 0) {
        // Oldest out until the new verdict fits both bounds.
        while (verdicts.size >= cacheSize || (verdicts.size > 0 && bytes + size > cacheBytes)) {
          const oldest = verdicts.keys().next().value!;
          verdicts.delete(oldest);
          bytes -= sizeOf(oldest);
        }
        if (bytes + size <= cacheBytes) {
          verdicts.set(key, verdict);
          bytes += size;
        }
      }
    }
    last = { bodyMethod, version, method, mcpName, name, envelope, verdict };
    return verdict;
  }

  const filter = (headers: IncomingHttpHeaders, message: InboundMessage): LeanCall | undefined => {
    if (message.kind !== 'request' || !message.policy?.lean || message.tool === undefined) return undefined;
    const id = message.id;
    if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
    const params = message.params!;
    const name = message.toolName!;
    for (const key in params) if (!PLAIN_PARAMS.has(key)) return undefined;
    const meta = params._meta as Record<string, unknown> | undefined;
    if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) return undefined;
    const progressToken = meta?.progressToken;
    if (progressToken !== undefined && typeof progressToken !== 'string' && !Number.isSafeInteger(progressToken)) return undefined;

    const call: Omit<LeanCall, 'era'> = { id: id!, name, arguments: params.arguments };
    if (progressToken !== undefined) call.progressToken = progressToken as ProgressToken;
    if (meta !== undefined && PROTOCOL_VERSION_KEY in meta) {
      // A client that takes MCP tasks: the SDK's handler decides whether the call becomes one.
      if (declaresTasks(meta)) return undefined;
      const std = standardHeaders(headers);
      if (std.version === undefined || !modernEnvelopeAccepted(message.method!, name, meta, std.version, std.method, std.name))
        return undefined;
      return { era: 'modern', ...call };
    }
    // No envelope claim: a 2025-era request (the SDK's classifier says the same for this shape),
    // unless the header names a version the lean path does not answer (a modern one included).
    const version = header(headers, 'mcp-protocol-version');
    if (version !== undefined && !LEGACY_VERSIONS.has(version)) return undefined;
    return { era: 'legacy', ...call };
  };
  const verdictCache = (): VerdictCacheUse => ({ entries: verdicts.size, bytes, maxEntries: cacheSize, maxBytes: cacheBytes, maxKeyBytes });
  return Object.assign(filter, { verdictCache });
}

/** Writes the JSON-RPC answer of a lean call. */
export type LeanResultEncoder = (call: LeanCall, result: ToolResult) => string;

/**
 * The JSON-RPC answer, as the SDK encodes it for each era: a 2026-07-28 result carries
 * `resultType` and the server's identity in `_meta`; a 2025-era result is the bare result. The end
 * of a job tool's answer depends only on the era and on isError, so it is written once for each.
 */
export function createLeanResultEncoder(serverInfo: { name: string; version: string }): LeanResultEncoder {
  const envelopes = { modern: { resultType: 'complete', _meta: { [SERVER_INFO_META_KEY]: serverInfo } }, legacy: {} };
  const tailOf = (era: LeanCall['era'], isError: boolean) => {
    const rest = JSON.stringify({ ...(isError ? { isError: true } : {}), ...envelopes[era] });
    return rest === '{}' ? '}' : `,${rest.slice(1)}`;
  };
  const tails = { modern: [tailOf('modern', false), tailOf('modern', true)], legacy: [tailOf('legacy', false), tailOf('legacy', true)] };
  return (call, result) => {
    const json = result[STRUCTURED_JSON];
    if (json === undefined) return JSON.stringify({ jsonrpc: '2.0', id: call.id, result: { ...result, ...envelopes[call.era] } });
    // A job tool's result: its one text block is the JSON of structuredContent, so that JSON is
    // written once and reused rather than produced a second time.
    const tail = tails[call.era][result.isError ? 1 : 0];
    return `{"jsonrpc":"2.0","id":${JSON.stringify(call.id)},"result":{"content":[{"type":"text","text":${JSON.stringify(json)}}],"structuredContent":${json}${tail}}`;
  };
}

/** How deep the comparison with the last envelope looks (real ones nest 2 or 3 levels; bodies at most 64: guards.ts). */
const MAX_ENVELOPE_DEPTH = 16;

/** Whether two parsed JSON values are equal (key order aside), looking at most `depth` levels down. */
function sameJson(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth === 0 || Array.isArray(a) !== Array.isArray(b))
    return false;
  let count = 0;
  for (const k in a) {
    if (!Object.hasOwn(b, k) || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth - 1)) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v.trim() : undefined;
}
