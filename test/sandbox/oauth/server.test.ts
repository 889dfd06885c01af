// The sandbox issuer as an OAuth 2.1 authorization server, spoken to the way a client's own OAuth code
// speaks to it (by hand here; the SDK clients are in test/e2e/oauth-clients.test.ts and
// test/e2e/python-oauth-client.test.ts): its metadata, registration, the authorization code flow with
// PKCE and a resource indicator, the automatic sign-in, refresh, step-up, and its tokens beside mint()'s.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandboxIssuer, type SandboxIssuer } from '../../../src/sandbox/issuer.ts';
import { Browser } from '../../helpers/authorization-server.ts';

const GATEWAY = 'http://127.0.0.1:8080/mcp';
const REDIRECT = 'http://127.0.0.1:53682/callback';

interface Tokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  scope?: string;
  expires_in: number;
}

let issuer: SandboxIssuer;
beforeAll(async () => {
  issuer = await startSandboxIssuer({
    authorizationServer: {
      scopes: ['jobs:read', 'jobs:cancel'],
      audienceFor: (indicator) => (indicator === GATEWAY ? GATEWAY : undefined),
    },
  });
});
afterAll(async () => issuer?.close());

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function register(metadata: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await fetch(`${issuer.issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'test client',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      ...metadata,
    }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Record<string, any>;
}

function authorizeUrl(clientId: string, params: Record<string, string>): URL {
  const url = new URL(`${issuer.issuer}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    state: randomBytes(8).toString('hex'),
    resource: GATEWAY,
    ...params,
  })) {
    url.searchParams.set(k, v);
  }
  return url;
}

async function token(body: Record<string, string>): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${issuer.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** The whole code flow in one browser: authorize, come back with a code, exchange it. */
async function codeFlow(browser: Browser, clientId: string, scope: string): Promise<{ tokens: Tokens; prompts: string[]; callback: URL }> {
  const { verifier, challenge } = pkce();
  const start = authorizeUrl(clientId, { scope, code_challenge: challenge, code_challenge_method: 'S256' });
  const { callback, prompts } = await browser.authorize(start, REDIRECT, { login: 'unused', password: 'unused' });
  expect(callback.searchParams.get('state')).toBe(start.searchParams.get('state'));
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTruthy();
  const r = await token({
    grant_type: 'authorization_code',
    code: code!,
    redirect_uri: REDIRECT,
    client_id: clientId,
    code_verifier: verifier,
    resource: GATEWAY,
  });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return { tokens: r.json as Tokens, prompts, callback };
}

describe('the sandbox authorization server', () => {
  it('publishes complete metadata at the RFC 8414 and OpenID locations, with the JWKS the gateway is configured with', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await fetch(`${issuer.issuer}${path}`);
      expect(res.status).toBe(200);
      const m = (await res.json()) as Record<string, unknown>;
      expect(m, path).toMatchObject({
        issuer: issuer.issuer,
        authorization_endpoint: `${issuer.issuer}/authorize`,
        token_endpoint: `${issuer.issuer}/token`,
        registration_endpoint: `${issuer.issuer}/register`,
        jwks_uri: issuer.jwksUri,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        client_id_metadata_document_supported: true,
        authorization_response_iss_parameter_supported: true,
      });
      expect(m.scopes_supported).toEqual(expect.arrayContaining(['jobs:read', 'jobs:cancel', 'offline_access']));
      expect(m.token_endpoint_auth_methods_supported).toContain('none');
    }
    expect(issuer.authorizationServer).toBe(true);
    expect(issuer.note).toBeUndefined();
  });

  it('registers a client, signs the sandbox user in with no page to fill, and issues a JWT for the gateway signed with the JWKS key', async () => {
    const client = await register({ scope: 'jobs:read' });
    // The registered scope is widened to all the server's scopes, so a later step-up is allowed.
    expect(client.scope.split(' ')).toEqual(expect.arrayContaining(['jobs:read', 'jobs:cancel']));
    const { tokens, prompts, callback } = await codeFlow(new Browser(), client.client_id, 'jobs:read');
    expect(prompts).toEqual([]); // no form on the way: nothing to type or click
    expect(callback.searchParams.get('iss')).toBe(issuer.issuer); // RFC 9207
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.scope).toBe('jobs:read');
    expect(tokens.refresh_token).toBeUndefined(); // a narrower grant than the gateway's, without offline_access: below
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: GATEWAY,
    });
    expect(payload).toMatchObject({ sub: 'sandbox-user', client_id: client.client_id, scope: 'jobs:read', projects: ['*'] });

    // The printed tokens are signed with the same key.
    const minted = await issuer.mint({ audience: GATEWAY, scopes: ['jobs:read'] });
    expect(decodeProtectedHeader(minted).kid).toBe(decodeProtectedHeader(tokens.access_token).kid);
  });

  it('lets a browser-based client (the Inspector web UI) register and exchange its code from its own origin', async () => {
    const origin = 'http://localhost:6274';
    const preflight = await fetch(`${issuer.issuer}/register`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const reg = await fetch(`${issuer.issuer}/register`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [`${origin}/oauth/callback`], token_endpoint_auth_method: 'none' }),
    });
    expect(reg.status).toBe(201);
    expect(reg.headers.get('access-control-allow-origin')).toBe('*');
    // The token endpoint answers CORS for a public client's redirect origin (oidc-provider's client-based CORS).
    const { client_id: clientId } = (await reg.json()) as { client_id: string };
    const tokenPreflight = await fetch(`${issuer.issuer}/token`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    expect(tokenPreflight.headers.get('access-control-allow-origin')).toBe(origin);
    const refused = await fetch(`${issuer.issuer}/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'nope',
        client_id: clientId,
        redirect_uri: `${origin}/oauth/callback`,
        code_verifier: 'x'.repeat(43),
      }),
    });
    expect(refused.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('refreshes: a new access token for the same gateway and scope', async () => {
    const client = await register();
    for (const scope of ['jobs:read offline_access', 'jobs:read jobs:cancel']) {
      const { tokens } = await codeFlow(new Browser(), client.client_id, scope);
      const r = await token({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token!,
        client_id: client.client_id,
        resource: GATEWAY,
      });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.access_token).not.toBe(tokens.access_token);
      expect(decodeJwt(r.json.access_token)).toMatchObject({
        aud: GATEWAY,
        scope: decodeJwt(tokens.access_token).scope,
        sub: 'sandbox-user',
      });
    }
  });

  it('gives a refresh token for offline_access or every scope of the gateway, and none for less, which a refresh could not widen', async () => {
    const client = await register();
    const issued = async (scope: string) => (await codeFlow(new Browser(), client.client_id, scope)).tokens.refresh_token !== undefined;
    expect(await issued('jobs:read')).toBe(false);
    expect(await issued('jobs:read offline_access')).toBe(true);
    expect(await issued('jobs:read jobs:cancel')).toBe(true);
    // A client not registered for refresh tokens gets none, whatever it asks.
    const codeOnly = await register({ grant_types: ['authorization_code'] });
    expect((await codeFlow(new Browser(), codeOnly.client_id, 'jobs:read jobs:cancel')).tokens.refresh_token).toBeUndefined();
  });

  it('steps up: a client that registered for jobs:read comes back for jobs:cancel and gets both, with no sign-in again', async () => {
    const client = await register({ scope: 'jobs:read' });
    const browser = new Browser();
    const first = await codeFlow(browser, client.client_id, 'jobs:read');
    expect(decodeJwt(first.tokens.access_token).scope).toBe('jobs:read');
    const second = await codeFlow(browser, client.client_id, 'jobs:read jobs:cancel');
    expect(second.prompts).toEqual([]);
    expect(decodeJwt(second.tokens.access_token)).toMatchObject({ scope: 'jobs:read jobs:cancel', aud: GATEWAY });
  });

  it('takes a client ID metadata document served on loopback as the client, and refuses one whose client_id differs', async () => {
    const docs = new Map<string, Record<string, unknown>>();
    const server: Server = createServer((req, res) => {
      const doc = docs.get(req.url ?? '');
      if (!doc) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const id = `${base}/oauth/client.json`;
      docs.set('/oauth/client.json', {
        client_id: id,
        client_name: 'a local agent',
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
      });
      const { tokens } = await codeFlow(new Browser(), id, 'jobs:read');
      expect(decodeJwt(tokens.access_token)).toMatchObject({ client_id: id, aud: GATEWAY, scope: 'jobs:read' });
      expect(tokens.refresh_token).toBeUndefined(); // its document asks for no refresh_token grant

      const impostor = `${base}/oauth/impostor.json`;
      docs.set('/oauth/impostor.json', { client_id: id, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
      const { challenge } = pkce();
      await expect(
        new Browser().authorize(
          authorizeUrl(impostor, { scope: 'jobs:read', code_challenge: challenge, code_challenge_method: 'S256' }),
          REDIRECT,
          { login: '', password: '' },
        ),
      ).rejects.toThrow(/invalid_client.*client_id does not match/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('refuses an authorization request without PKCE, and a resource that is not the gateway', async () => {
    const client = await register();
    const browser = new Browser();
    const noPkce = await browser.authorize(authorizeUrl(client.client_id, { scope: 'jobs:read' }), REDIRECT, { login: '', password: '' });
    expect(Object.fromEntries(noPkce.callback.searchParams)).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/PKCE/),
    });

    const { challenge } = pkce();
    const other = await browser.authorize(
      authorizeUrl(client.client_id, {
        scope: 'jobs:read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: 'https://elsewhere.example/mcp',
      }),
      REDIRECT,
      { login: '', password: '' },
    );
    expect(other.callback.searchParams.get('error')).toBe('invalid_target');
  });

  it('says plainly when a sign-in link is opened without the browser that started it', async () => {
    const client = await register();
    const { challenge } = pkce();
    const res = await fetch(
      authorizeUrl(client.client_id, { scope: 'jobs:read', code_challenge: challenge, code_challenge_method: 'S256' }),
      { redirect: 'manual' },
    );
    const interaction = new URL(res.headers.get('location')!, issuer.issuer);
    expect(interaction.pathname).toMatch(/^\/interaction\//);
    const cookieless = await fetch(interaction, { redirect: 'manual' });
    expect(cookieless.status).toBe(400);
    expect(await cookieless.text()).toContain('start again from your MCP client');
  });

  it('after a key rotation, signs with the new key, which the JWKS publishes, and keeps its sessions and clients', async () => {
    const rotating = await startSandboxIssuer({
      authorizationServer: { scopes: ['jobs:read', 'jobs:cancel'], audienceFor: (i) => (i === GATEWAY ? GATEWAY : undefined) },
    });
    try {
      const res = await fetch(`${rotating.issuer}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
      });
      const client = (await res.json()) as { client_id: string };
      const before = issuer;
      issuer = rotating; // codeFlow talks to `issuer`
      try {
        const browser = new Browser();
        const first = await codeFlow(browser, client.client_id, 'jobs:read');
        await rotating.rotate();
        const second = await codeFlow(browser, client.client_id, 'jobs:read');
        const kids = (await (await fetch(rotating.jwksUri)).json()) as { keys: { kid: string }[] };
        expect(decodeProtectedHeader(second.tokens.access_token).kid).not.toBe(decodeProtectedHeader(first.tokens.access_token).kid);
        expect(kids.keys.map((k) => k.kid)).toEqual([decodeProtectedHeader(second.tokens.access_token).kid]);
        expect(decodeProtectedHeader(await rotating.mint({ audience: GATEWAY, scopes: ['jobs:read'] })).kid).toBe(kids.keys[0]!.kid);
      } finally {
        issuer = before;
      }
    } finally {
      await rotating.close();
    }
  });

  it('is a mint-only issuer when not asked to be an authorization server', async () => {
    const plain = await startSandboxIssuer();
    try {
      const m = (await (await fetch(`${plain.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(m).toEqual({ issuer: plain.issuer, jwks_uri: plain.jwksUri, id_token_signing_alg_values_supported: ['ES256'] });
      expect((await fetch(`${plain.issuer}/authorize`)).status).toBe(404);
      expect(plain.authorizationServer).toBe(false);
    } finally {
      await plain.close();
    }
  });
});
