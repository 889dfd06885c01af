// ComfyUI's CSRF guard (create_origin_only_middleware, plus the newer Sec-Fetch-Site check): a
// loopback Host with a different Origin, or Sec-Fetch-Site: cross-site, gets 403.
import type { SimRequest, SimResponse } from '../../../simulation/sim-server.ts';

export function originGuard(req: SimRequest): SimResponse | null {
  const h = req.headers;
  if (h['sec-fetch-site'] === 'cross-site') return { status: 403, text: '' };
  const host = typeof h.host === 'string' ? h.host : undefined;
  const origin = typeof h.origin === 'string' ? h.origin : undefined;
  if (host === undefined || origin === undefined) return null;
  let hostDomain: string | null = host.toLowerCase();
  const originNetloc = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(origin)?.[1] ?? '';
  let originDomain: string | null = originNetloc.toLowerCase();
  const hostParsed = splitNetloc(hostDomain);
  const originParsed = splitNetloc(originNetloc);
  const loopback = isLoopback(hostParsed.hostname);
  // "if origin doesn't have a port strip it from the host to handle weird browsers, same for host"
  if (originParsed.port === null) hostDomain = hostParsed.hostname;
  if (hostParsed.port === null) originDomain = originParsed.hostname;
  if (loopback && hostDomain && originDomain && hostDomain !== originDomain) return { status: 403, text: '' };
  return null;
}

/** Host part of a netloc: lowercase, without userinfo, port or IPv6 brackets; and the port. */
function splitNetloc(netloc: string): { hostname: string | null; port: number | null } {
  const hostPort = netloc.slice(netloc.lastIndexOf('@') + 1).toLowerCase();
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostPort);
  if (!m) return { hostname: null, port: null };
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { hostname: host === '' ? null : host, port: m[2] ? Number(m[2]) : null };
}

function isLoopback(host: string | null): boolean {
  if (host === null) return false;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}
