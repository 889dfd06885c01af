// Request guards in front of the MCP endpoint: Host allow-list (DNS rebinding), Origin allow-list
// (403, as the transport spec requires) with CORS for the allowed browser origins, media types,
// and a bounded JSON body. Plain Node functions (no framework) because they run on every call:
// each returns true to go on, or answers the request itself and returns false.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { rpcError } from '../mcp/rpc-error.ts';
import { readCapped } from './read-capped.ts';

export type Guard = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Hostnames (no port) accepted in the Host header. A Host header that is not a plain `host[:port]`
 * (RFC 9110 7.2: uri-host [ ":" port ]) is a malformed request, 400, before anything else; a
 * well-formed one naming another host is 403 (DNS rebinding).
 */
export function hostGuard(allowed: readonly string[]): Guard {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  const accepted = new Set<string>(); // Host header values already found good (bounded: allowed names x ports)
  return (req, res) => {
    const value = req.headers.host ?? '';
    if (accepted.has(value)) return true;
    const host = hostnameOf(value);
    if (host === undefined) {
      refuseMalformedHost(res, value);
      return false;
    }
    if (names.has(host)) {
      if (accepted.size < 1000) accepted.add(value);
      return true;
    }
    rpcError(res, 403, -32000, `Forbidden: Host header "${value.slice(0, 100)}" is not allowed`);
    return false;
  };
}

function refuseMalformedHost(res: ServerResponse, value: string): void {
  rpcError(res, 400, -32000, `Bad Request: the Host header "${value.slice(0, 100)}" is not a host[:port]`, { connection: 'close' });
}

// RFC 3986 3.2.2-3.2.3, strictly: a reg-name of DNS characters (letters, digits, "-", "." and "_"),
// an IPv4 address (dotted decimal, which the reg-name covers) or a bracketed IPv6 literal, then an
// optional port of 1-5 digits up to 65535. Nothing else: no userinfo ("x@127.0.0.1", which URL
// parsing would drop), no path, query or fragment, no percent-encoding, no sub-delims, no empty
// port, no whitespace. The name is compared as written (lowercased), never normalised the way URL
// parsing normalises ("0x7f.1" is not 127.0.0.1 here).
const HOST_PORT = /^(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9._-]{1,253})(?::([0-9]{1,5}))?$/;

/** The lowercased host of a Host header value, or undefined when the value is no host[:port]. */
export function hostnameOf(value: string): string | undefined {
  const m = HOST_PORT.exec(value);
  if (!m) return undefined;
  if (m[2] !== undefined && Number(m[2]) > 65535) return undefined;
  const host = m[1]!;
  if (host.startsWith('[') && !isIPv6(host.slice(1, -1))) return undefined;
  return host.toLowerCase();
}

/** Whether s is an IPv6 address (as the brackets of an IP-literal hold it; no zone id). */
function isIPv6(s: string): boolean {
  return isIP(s) === 6;
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
