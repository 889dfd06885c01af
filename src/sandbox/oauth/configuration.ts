// oidc-provider's configuration for an authorization server in front of the gateway: authorization
// code with PKCE (S256, every client), RFC 8707 resource indicators giving RFC 9068 JWT access tokens
// whose audience is the gateway, the gateway's scopes, the projects claim the gateway reads, refresh
// tokens, open dynamic client registration and client ID metadata documents. How users sign in is not
// decided here (the sandbox signs its one user in at once; tests may use oidc-provider's own pages).
import type { JWK } from 'jose';
import { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { MemoryStore } from './adapter.ts';
import { withLoopbackClientMetadata } from './client-metadata.ts';

export interface ProviderOptions {
  /** Private signing keys (with kid and alg); the first signs. */
  keys: JWK[];
  /** The gateway's scopes (auth.scopes: read, then cancel). */
  scopes: readonly string[];
  /** The `aud` of access tokens for a resource indicator, or undefined when the indicator names no resource served here. */
  audienceFor: (indicator: string) => string | undefined;
  /** The `projects` claim for a subject (the account, or the client for client credentials). */
  projectsFor(subject: string): readonly string[] | undefined;
  store: MemoryStore;
  /** Keys that sign the session and interaction cookies. */
  cookieKeys: string[];
  /** Fetches client ID metadata documents on loopback (default: the global fetch). */
  fetch?: typeof fetch;
}

const HOUR = 3600;
const DAY = 24 * HOUR;
/** Lifetime of an access token issued here (tokens printed at start-up are minted separately). */
const ACCESS_TOKEN_TTL_SECONDS = HOUR;

export function providerConfiguration(o: ProviderOptions): Configuration {
  // OpenID's own scopes beside the gateway's: offline_access is how some clients (the Python SDK)
  // ask for a refresh token.
  const scopes = ['openid', 'offline_access', ...o.scopes];
  return {
    jwks: { keys: o.keys },
    cookies: { keys: o.cookieKeys },
    adapter: (model: string) => {
      const adapter = o.store.adapterFor(model);
      return model === 'Client' ? withLoopbackClientMetadata(adapter, o.fetch) : adapter;
    },
    scopes,
    // The one key is an EC key; a client that registers no grant types may still refresh.
    clientDefaults: {
      id_token_signed_response_alg: 'ES256',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    // OAuth 2.1: the code flow only (no implicit or hybrid response types).
    responseTypes: ['code'],
    routes: { authorization: '/authorize', registration: '/register', jwks: '/jwks.json' },
    pkce: { required: () => true },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    extraTokenClaims: (_ctx, token) => {
      const subject = token.kind === 'AccessToken' ? token.accountId : token.clientId;
      const projects = subject === undefined ? undefined : o.projectsFor(subject);
      return projects ? { projects: [...projects] } : undefined;
    },
    // A client that may use refresh tokens (by its registration) gets one when it asked for
    // offline_access, or, as MCP clients rarely ask for it, when it was granted every scope of the
    // gateway. A grant with less gets none: the 1.x TypeScript SDK answers a 403 step-up challenge
    // by refreshing when it holds a refresh token, and a refresh (which carries no scope) could only
    // give it the same narrower scope again, so it could never cancel. Without one it signs in again
    // for the scope the challenge names, which the sandbox grants at once.
    issueRefreshToken: (_ctx, client, source) =>
      client.grantTypeAllowed('refresh_token') &&
      (source.scopes.has('offline_access') || o.scopes.every((scope) => source.scopes.has(scope))),
    extraClientMetadata: {
      properties: ['scope'],
      // oidc-provider holds a client to the `scope` it registered with, and clients register with the
      // scope of their first challenge (jobs:read): a step-up to jobs:cancel would then be refused.
      // Every client here may ask for every scope; a token still gets only what was asked for.
      validator: (_ctx, key, _value, metadata) => {
        if (key === 'scope') metadata.scope = scopes.join(' ');
      },
    },
    // Browser-based clients (the MCP Inspector) call the token endpoint from their redirect URI's origin.
    clientBasedCORS: (_ctx, origin, client) =>
      origin !== 'null' && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      ClientCredentials: 10 * 60,
      IdToken: HOUR,
      Interaction: HOUR,
      RefreshToken: 14 * DAY,
      Session: 14 * DAY,
      Grant: 14 * DAY,
    },
    renderError,
    features: {
      devInteractions: { enabled: false },
      // The gateway takes Bearer tokens only: a DPoP-bound token would be refused there.
      dPoP: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      registration: { enabled: true }, // open: no initial access token
      clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const audience = o.audienceFor(indicator);
          if (audience === undefined) throw new errors.InvalidTarget(`${indicator} is not a resource this server issues tokens for`);
          return {
            scope: o.scopes.join(' '),
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
  };
}

/** A plain page for errors shown in the browser (a bad redirect_uri, an expired sign-in), without oidc-provider's stack details. */
function renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string | undefined }): void {
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  ctx.type = 'html';
  ctx.body = `<!doctype html><title>Sign-in failed</title><h1>${escape(out.error)}</h1><p>${escape(out.error_description ?? '')}</p><p>Start again from your MCP client.</p>`;
}
