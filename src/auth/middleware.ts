// Authentication in front of the MCP endpoint, in two steps:
// - authenticate (before the body is read): the Authorization header on every request, verified;
//   a missing or invalid token is 401 with a challenge pointing to the protected-resource metadata.
// - requireScopes (after the body is parsed): the read scope for everything, and the cancel scope for
//   a tools/call of cancel_job, answered with 403 insufficient_scope so a client can step up.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { rpcError } from '../mcp/transport.ts';
import { challenge } from './metadata.ts';
import type { Principal } from './principal.ts';
import { AuthFailure, type AuthFailureReason, type TokenVerifier } from './token-verifier.ts';

export interface AuthenticatedRequest extends Request {
  principal?: Principal;
}

export interface AuthMiddlewareOptions {
  verifier: TokenVerifier;
  metadataUrl: string;
  scopes: { read: string; cancel: string };
  logger: Logger;
  /** Told about every refusal (metrics). */
  onFailure?: (reason: AuthFailureReason) => void;
}

export function authenticate(options: AuthMiddlewareOptions) {
  const refuse = (res: Response, failure: AuthFailure, tokenGiven: boolean) => {
    options.onFailure?.(failure.reason);
    options.logger.info({ reason: failure.reason }, 'request refused: %s', failure.message);
    if (failure.status === 503) {
      rpcError(res, 503, -32000, failure.message, { 'Retry-After': '5' });
      return;
    }
    const header = challenge({
      metadataUrl: options.metadataUrl,
      scope: options.scopes.read,
      ...(tokenGiven ? { error: failure.reason === 'token_in_query' ? ('invalid_request' as const) : ('invalid_token' as const), description: failure.message } : {}),
    });
    rpcError(res, 401, -32000, `Unauthorized: ${failure.message}`, { 'WWW-Authenticate': header });
  };

  return (req: AuthenticatedRequest, res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS') return next(); // CORS preflight carries no credentials
    // Tokens are accepted only in the header; one in the URL is refused outright (and never logged).
    if (new URL(req.originalUrl, 'http://x').searchParams.has('access_token')) {
      return refuse(res, new AuthFailure('token_in_query', 'Tokens are accepted only in the Authorization header'), true);
    }
    const header = req.headers.authorization;
    if (!header) return refuse(res, new AuthFailure('missing', 'A bearer token is required'), false);
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match) return refuse(res, new AuthFailure('not_bearer', 'The Authorization header must be "Bearer <token>"'), true);
    options.verifier.verify(match[1]!).then(
      (principal) => {
        req.principal = principal;
        // The SDK hands req.auth to tool handlers as authInfo; the token itself is left out on purpose.
        (req as Request & { auth?: unknown }).auth = {
          token: '[redacted]',
          clientId: principal.clientId ?? principal.subject,
          scopes: [...principal.scopes],
          expiresAt: principal.expiresAt,
          extra: { principal },
        };
        next();
      },
      (e: unknown) => {
        if (e instanceof AuthFailure) return refuse(res, e, true);
        options.logger.error({ err: e }, 'token verification failed unexpectedly');
        rpcError(res, 500, -32603, 'Internal error');
      },
    );
  };
}

export function requireScopes(options: AuthMiddlewareOptions) {
  const { read, cancel } = options.scopes;
  return (req: AuthenticatedRequest, res: Response, next: NextFunction) => {
    const p = req.principal;
    if (!p) return next();
    const messages: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
    const needsCancel = messages.some((m) => {
      const msg = m as { method?: unknown; params?: { name?: unknown } } | null;
      return msg?.method === 'tools/call' && msg.params?.name === 'cancel_job';
    });
    const needed = needsCancel ? [read, cancel] : [read];
    const missing = needed.filter((s) => !p.scopes.has(s));
    if (missing.length === 0) return next();
    options.onFailure?.('insufficient_scope');
    const description = `This call needs the scope${missing.length > 1 ? 's' : ''} ${missing.join(' and ')}`;
    options.logger.info({ reason: 'insufficient_scope', missing }, 'request refused: %s', description);
    rpcError(res, 403, -32000, `Forbidden: ${description}`, {
      // Existing relevant scopes plus the newly required one (the spec's recommended approach).
      'WWW-Authenticate': challenge({ metadataUrl: options.metadataUrl, scope: needed.join(' '), error: 'insufficient_scope', description }),
    });
  };
}
