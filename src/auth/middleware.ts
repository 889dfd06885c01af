// Authentication in front of the MCP endpoint (plain Node functions: they run on every call), in two steps:
// - authenticate (before the body is read): the Authorization header on every request, verified;
//   a missing or invalid token is 401 with a challenge pointing to the protected-resource metadata.
// - requireScopes (after the body is parsed and placed in the table of methods, mcp/methods.ts): the
//   read scope for everything, and on top the scope the table names for the method (for tools/call,
//   the one the called tool declares), answered with 403 insufficient_scope so a client can step up.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SCOPE_NAMES, type ScopeName } from '../mcp/policy.ts';
import { rpcError } from '../mcp/rpc-error.ts';
import { challenge } from './metadata.ts';
import type { Caller } from '../jobs/caller.ts';
import type { Principal } from './principal.ts';
import { AuthFailure, type AuthFailureReason, type TokenVerifier } from './token-verifier.ts';

/** The request once authenticated; the SDK hands `auth` to its handlers as authInfo. */
export interface AuthenticatedRequest extends IncomingMessage {
  principal?: Principal;
  auth?: { token: string; clientId: string; scopes: string[]; expiresAt: number; extra: { principal: Principal; caller: Caller } };
}

export interface AuthMiddlewareOptions {
  verifier: TokenVerifier;
  metadataUrl: string;
  /** The real scope string of each scope name (auth.scopes in the config). */
  scopes: Readonly<Record<ScopeName, string>>;
  logger: Logger;
  /** Told about every refusal (metrics). */
  onFailure?: (reason: AuthFailureReason) => void;
  /** The job service's caller for a verified principal (made once per remembered principal). */
  callerOf: (principal: Principal) => Caller;
}

/**
 * True when the request carries a valid token (then `req.principal` is set); else it is answered. The
 * answer is immediate (not a promise) for the token its connection sent last and the refusals that
 * need no verification: most calls then take no asynchronous step here.
 */
export function authenticate(
  options: AuthMiddlewareOptions,
): (req: AuthenticatedRequest, res: ServerResponse) => boolean | Promise<boolean> {
  const refuse = (res: ServerResponse, failure: AuthFailure, tokenGiven: boolean): false => {
    options.onFailure?.(failure.reason);
    options.logger.info({ reason: failure.reason }, 'request refused: %s', failure.message);
    if (failure.status === 503) {
      rpcError(res, 503, -32000, failure.message, { 'Retry-After': '5' });
      return false;
    }
    const header = challenge({
      metadataUrl: options.metadataUrl,
      scope: options.scopes.read,
      ...(tokenGiven
        ? {
            error: failure.reason === 'token_in_query' ? ('invalid_request' as const) : ('invalid_token' as const),
            description: failure.message,
          }
        : {}),
    });
    rpcError(res, 401, -32000, `Unauthorized: ${failure.message}`, { 'WWW-Authenticate': header });
    return false;
  };

  // One auth record per verified principal (the verifier returns the same object for a remembered token).
  const records = new WeakMap<Principal, NonNullable<AuthenticatedRequest['auth']>>();
  const accept = (req: AuthenticatedRequest, principal: Principal): true => {
    req.principal = principal;
    let record = records.get(principal);
    if (!record) {
      // The token itself is left out on purpose.
      record = {
        token: '[redacted]',
        clientId: principal.clientId ?? principal.subject ?? '',
        scopes: [...principal.scopes],
        expiresAt: principal.expiresAt,
        extra: { principal, caller: options.callerOf(principal) },
      };
      records.set(principal, record);
    }
    req.auth = record;
    return true;
  };
  const verifyThenAccept = async (req: AuthenticatedRequest, res: ServerResponse, token: string): Promise<boolean> => {
    try {
      return accept(req, await options.verifier.verify(token, req.socket));
    } catch (e) {
      if (e instanceof AuthFailure) return refuse(res, e, true);
      options.logger.error({ err: e }, 'token verification failed unexpectedly');
      rpcError(res, 500, -32603, 'Internal error');
      return false;
    }
  };
  return (req, res) => {
    // Tokens are accepted only in the header; one in the URL is refused outright (and never logged).
    if (req.url?.includes('?') && new URL(req.url, 'http://x').searchParams.has('access_token')) {
      return refuse(res, new AuthFailure('token_in_query', 'Tokens are accepted only in the Authorization header'), true);
    }
    const header = req.headers.authorization;
    if (!header) return refuse(res, new AuthFailure('missing', 'A bearer token is required'), false);
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match) return refuse(res, new AuthFailure('not_bearer', 'The Authorization header must be "Bearer <token>"'), true);
    const token = match[1]!;
    const remembered = options.verifier.remembered(token, req.socket);
    return remembered ? accept(req, remembered) : verifyThenAccept(req, res, token);
  };
}

/**
 * True when the caller's scopes cover a message that needs `scope` (resolved from the table of
 * methods); else a 403 step-up challenge is sent.
 */
export function requireScopes(
  options: AuthMiddlewareOptions,
): (req: AuthenticatedRequest, res: ServerResponse, scope: ScopeName) => boolean {
  const { scopes } = options;
  // Read for every message, the named scope on top; the challenge lists them all (the spec's
  // recommended approach: the existing relevant scopes plus the newly required one).
  const neededFor = Object.fromEntries(SCOPE_NAMES.map((name) => [name, [...new Set([scopes.read, scopes[name]])]])) as Record<
    ScopeName,
    string[]
  >;
  return (req, res, scope) => {
    const p = req.principal;
    if (!p) return true;
    const needed = neededFor[scope];
    const missing = needed.filter((s) => !p.scopes.has(s));
    if (missing.length === 0) return true;
    options.onFailure?.('insufficient_scope');
    const description = `This call needs the scope${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}`;
    options.logger.info({ reason: 'insufficient_scope', missing }, 'request refused: %s', description);
    rpcError(res, 403, -32000, `Forbidden: ${description}`, {
      'WWW-Authenticate': challenge({
        metadataUrl: options.metadataUrl,
        scope: needed.join(' '),
        error: 'insufficient_scope',
        description,
      }),
    });
    return false;
  };
}
