// Request guards in front of the MCP endpoint: Host allow-list (DNS rebinding), Origin allow-list
// (403, as the transport spec requires) with CORS for the allowed browser origins, media types,
// and a bounded JSON body. Plain Node functions (no framework) because they run on every call:
// each returns true to go on, or answers the request itself and returns false.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rpcError } from '../mcp/rpc-error.ts';
import { readCapped } from './read-capped.ts';

export type Guard = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Hostnames (no port) accepted in the Host header. */
export function hostGuard(allowed: readonly string[]): Guard {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  const accepted = new Set<string>(); // Host header values already found good (bounded: allowed names x ports)
  return (req, res) => {
    const value = req.headers.host ?? '';
    if (accepted.has(value)) return true;
    const host = hostnameOf(value);
    if (host && names.has(host)) {
      if (accepted.size < 1000) accepted.add(value);
      return true;
    }
    rpcError(res, 403, -32000, `Forbidden: Host header "${(req.headers.host ?? '').slice(0, 100)}" is not allowed`);
    return false;
  };
}

const ALLOW_HEADERS =
  'authorization, content-type, accept, mcp-protocol-version, mcp-method, mcp-name, traceparent, tracestate, x-request-id';

/**
 * A request carrying an Origin outside the allow-list is refused; one without Origin (not a browser)
 * passes. An allowed browser gets CORS headers, and its preflight (OPTIONS) is answered here.
 */
export function originGuard(allowed: readonly string[]): Guard {
  const origins = new Set(allowed.map((o) => o.toLowerCase()));
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (!origins.has(origin.toLowerCase())) {
      rpcError(res, 403, -32000, `Forbidden: Origin "${origin.slice(0, 100)}" is not allowed`);
      return false;
    }
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', 'www-authenticate, x-request-id');
    res.setHeader('vary', 'Origin');
    if (req.method !== 'OPTIONS') return true;
    res.writeHead(204, {
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': ALLOW_HEADERS,
      'access-control-max-age': '600',
    });
    res.end();
    return false;
  };
}

/** POST must carry JSON and accept both JSON and SSE answers (spec: Sending Messages to the Server). */
export const postMediaGuard: Guard = (req, res) => {
  const given = req.headers['content-type'] ?? '';
  // The exact header every client sends is taken without splitting and lowering it.
  const type = given === 'application/json' ? given : given.split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    rpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    return false;
  }
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    rpcError(res, 406, -32000, 'Not Acceptable: Accept must list both application/json and text/event-stream');
    return false;
  }
  return true;
};

/**
 * Reads the body (at most `limit` bytes) and parses it as JSON. Too large is 413, not JSON (or not
 * an object or array) is 400 -32700; either way the request is answered and undefined returned.
 */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<{ body: unknown } | undefined> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return tooLarge(res, limit);
  let bytes: Buffer | 'too_large';
  try {
    bytes = await readCapped(req, limit);
  } catch {
    return undefined; // the client went away mid-body: nobody to answer
  }
  if (bytes === 'too_large') return tooLarge(res, limit);
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null) {
    rpcError(res, 400, -32700, 'Parse error: the body is not a JSON object');
    return undefined;
  }
  // Valid JSON, but deeper than any MCP message: serializing it again (the SDK does) would overflow the stack.
  if (!withinDepth(body, MAX_JSON_DEPTH)) {
    rpcError(res, 400, -32600, `Invalid Request: the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
    return undefined;
  }
  return { body };
}

const MAX_JSON_DEPTH = 64;

/** Whether a parsed JSON value nests at most `depth` levels (stops at the first level too deep). */
function withinDepth(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (depth === 0) return false;
  for (const k in v) if (!withinDepth((v as Record<string, unknown>)[k], depth - 1)) return false;
  return true;
}

function tooLarge(res: ServerResponse, limit: number): undefined {
  // The rest of the body is not read: close the connection rather than drain it.
  rpcError(res, 413, -32600, `Request body larger than ${limit} bytes`, { connection: 'close' });
  return undefined;
}

function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
