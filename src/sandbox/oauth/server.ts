// The sandbox issuer's OAuth 2.1 authorization server, on oidc-provider. Loaded only with a dynamic
// import() by the sandbox issuer (src/sandbox/issuer.ts), so neither this code nor oidc-provider (a
// devDependency) is ever loaded with a production config.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWK } from 'jose';
import Provider from 'oidc-provider';
import type { StateFile } from '../state.ts';
import { createMemoryStore } from './adapter.ts';
import { providerConfiguration } from './configuration.ts';
import { automaticSignIn } from './interactions.ts';

export interface AuthorizationServerOptions {
  /** The issuer URL (no trailing slash): the sandbox issuer's base URL. */
  issuer: string;
  /** The private signing key (with kid and alg) that mint() signs with too. */
  signingKey: JWK;
  /** The gateway's scopes (auth.scopes: read, then cancel). */
  scopes: readonly string[];
  /** The `aud` for a resource indicator, or undefined when it names no gateway served here. */
  audienceFor: (indicator: string) => string | undefined;
  /** The one user, signed in automatically. */
  account: string;
  /** The projects claim of every token issued here. */
  projects: readonly string[];
  /** Where registrations, sessions, grants and refresh tokens outlive a restart (default: memory only). */
  stateFile?: StateFile;
}

export interface AuthorizationServer {
  /** Answers a request to the issuer (everything but its JWKS, which the issuer serves). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Signs with this key from now on (after a rotation); sessions, grants and clients are kept. */
  useKey(signingKey: JWK): void;
}

export function createAuthorizationServer(o: AuthorizationServerOptions): AuthorizationServer {
  const store = createMemoryStore(Date.now, o.stateFile);
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const build = (key: JWK) => {
    const provider = new Provider(
      o.issuer,
      providerConfiguration({
        keys: [key],
        scopes: o.scopes,
        audienceFor: o.audienceFor,
        projectsFor: () => o.projects,
        store,
        cookieKeys,
      }),
    );
    return { provider, callback: provider.callback() };
  };
  let current = build(o.signingKey);
  const signIn = automaticSignIn(() => current.provider, o.account);

  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path === '/register' && req.headers.origin !== undefined) {
        // Browser-based clients (the MCP Inspector in direct mode) register from their own origin;
        // oidc-provider sends no CORS headers there, and registration is open here anyway.
        res.setHeader('access-control-allow-origin', '*');
        if (req.method === 'OPTIONS') {
          res
            .writeHead(204, {
              'access-control-allow-methods': 'POST',
              'access-control-allow-headers': 'content-type, authorization',
              'access-control-max-age': '3600',
            })
            .end();
          return;
        }
      }
      if (req.method === 'GET' && path === '/authorize') req.url = consentingToOfflineAccess(req.url ?? '/');
      if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(path)) {
        signIn(req, res).catch(() => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('The sandbox sign-in failed: start again from your MCP client.\n');
        });
        return;
      }
      void current.callback(req, res);
    },
    useKey(signingKey) {
      current = build(signingKey);
    },
  };
}

/**
 * OpenID Connect honours a request for offline_access (a refresh token) only with prompt=consent,
 * which MCP clients (the v2 TypeScript SDK) do not send; oidc-provider drops the scope otherwise.
 * Consent is automatic here, so asking for offline_access is taken as asking for consent too.
 */
function consentingToOfflineAccess(url: string): string {
  const parsed = new URL(url, 'http://sandbox');
  const scopes = (parsed.searchParams.get('scope') ?? '').split(' ');
  if (!scopes.includes('offline_access') || parsed.searchParams.has('prompt')) return url;
  parsed.searchParams.set('prompt', 'consent');
  return `${parsed.pathname}${parsed.search}`;
}
