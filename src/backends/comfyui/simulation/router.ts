// ComfyUI's routing, as aiohttp does it: add_routes() registers every route twice, as "/api" + path
// first and then as declared (so the jobs API, declared as /api/jobs…, exists as /api/jobs… and
// /api/api/jobs…, never /jobs). A path parameter is one segment, percent-decoded, matching aiohttp's
// [^{}/]+. Unknown paths answer aiohttp's plain-text 404; a known path with the wrong method a 405.
import type { SimRequest, SimResponse } from '../../../simulation/sim-server.ts';
import { originGuard } from './origin-guard.ts';
import { notFound } from './python.ts';

export type Handler = (req: SimRequest, params: string[]) => SimResponse;
export type AddRoute = (method: 'GET' | 'POST', path: string, handle: Handler) => void;

interface Route {
  method: 'GET' | 'POST';
  pattern: string[]; // ':' marks a parameter segment
  handle: Handler;
}

/**
 * A route table. `route` declares routes; `dispatch` answers a request, after `beforeHandler` (the
 * worker catching up with the clock) for requests that reach a handler.
 */
export function createRouter(beforeHandler: () => void): { route: AddRoute; dispatch: (req: SimRequest) => SimResponse } {
  const declared: Route[] = [];
  let registered: Route[] | undefined;

  function dispatch(req: SimRequest): SimResponse {
    const csrf = originGuard(req);
    if (csrf) return csrf;
    let segs: string[];
    try {
      segs =
        req.path === '/'
          ? []
          : req.path
              .slice(1)
              .split('/')
              .map((s) => decodeURIComponent(s));
    } catch {
      return notFound;
    }
    registered ??= [...declared.map((r) => ({ ...r, pattern: ['api', ...r.pattern] })), ...declared];
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const allowed = new Set<string>();
    for (const r of registered) {
      const params = matchPattern(r.pattern, segs);
      if (!params) continue;
      if (r.method !== method) {
        allowed.add(r.method);
        continue;
      }
      beforeHandler();
      return r.handle(req, params);
    }
    if (allowed.size > 0) {
      return {
        status: 405,
        text: '405: Method Not Allowed',
        headers: { 'content-type': 'text/plain; charset=utf-8', allow: [...allowed].join(',') },
      };
    }
    return notFound;
  }

  return {
    route: (method, path, handle) => {
      declared.push({ method, pattern: path.split('/').filter(Boolean), handle });
      registered = undefined;
    },
    dispatch,
  };
}

function matchPattern(pattern: readonly string[], segs: readonly string[]): string[] | null {
  if (pattern.length !== segs.length) return null;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segs[i]!;
    if (p === ':') {
      if (s === '' || s.includes('{') || s.includes('}')) return null;
      params.push(s);
    } else if (p !== s) return null;
  }
  return params;
}
