// A real OAuth 2.1 authorization server for tests: oidc-provider, in process, on loopback (plain
// http, which is fine there), configured as the sandbox's authorization server is
// (src/sandbox/oauth/configuration.ts: RFC 9068 JWT access tokens for the resource indicators (RFC
// 8707) a test registers, PKCE, registration), plus what the sandbox does not need: several users
// signing in at oidc-provider's own login and consent pages, client credentials, pre-registered
// clients. Also a tiny user agent that goes through those pages the way a person's browser would,
// and an in-memory OAuthClientProvider for the SDK client.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { createMemoryStore } from '../../src/sandbox/oauth/adapter.ts';
import { providerConfiguration } from '../../src/sandbox/oauth/configuration.ts';

export interface AuthorizationServerOptions {
  /** Pre-registered clients; dynamic client registration (RFC 7591) is open besides. */
  clients?: ClientMetadata[];
  /** The `projects` claim put in access tokens, by subject (account id, or client id for client credentials). */
  projectsFor?: (subject: string) => string[] | undefined;
}

export interface AuthorizationServer {
  /** The `iss` of its tokens (no trailing slash). */
  issuer: string;
  jwksUri: string;
  tokenEndpoint: string;
  provider: Provider;
  /** Makes the AS issue JWT access tokens with `aud` = indicator when a client asks for this resource. */
  addResource(indicator: string): void;
  /** Errors oidc-provider reported (server_error and failed grants), for failure messages. */
  errors: string[];
  close(): Promise<void>;
}

export async function startAuthorizationServer(options: AuthorizationServerOptions = {}): Promise<AuthorizationServer> {
  // Listen first: the issuer URL (and so the provider) needs the port.
  // Set once the provider exists, which is after the server listens.
  // eslint-disable-next-line prefer-const
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => (handler ? handler(req, res) : res.writeHead(503).end()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: `test-${randomUUID()}`, alg: 'ES256', use: 'sig' };

  const resources = new Set<string>();
  const reported: string[] = [];
  const projectsFor = options.projectsFor ?? (() => undefined);

  const base = providerConfiguration({
    keys: [signingKey],
    scopes: ['jobs:read', 'jobs:cancel'],
    audienceFor: (indicator) => (resources.has(indicator) ? indicator : undefined),
    projectsFor,
    store: createMemoryStore(),
    cookieKeys: [randomBytes(32).toString('base64url')],
  });
  const provider = new Provider(issuer, {
    ...base,
    clients: options.clients ?? [],
    features: {
      ...base.features,
      // Its own login and consent pages: any login name is accepted, as in a developer's sandbox.
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
    },
  });
  provider.on('server_error', (_ctx, err) => reported.push(`server_error: ${err.message}`));
  provider.on('grant.error', (_ctx, err) => reported.push(`grant.error: ${err.message}`));
  provider.on('authorization.error', (_ctx, err) => reported.push(`authorization.error: ${err.message}`));
  provider.on('registration_create.error', (_ctx, err) => reported.push(`registration_create.error: ${err.message}`));
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);

  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    jwks_uri: string;
    token_endpoint: string;
  };

  return {
    issuer,
    jwksUri: discovery.jwks_uri,
    tokenEndpoint: discovery.token_endpoint,
    provider,
    errors: reported,
    addResource(indicator) {
      resources.add(indicator);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A client-credentials token request with HTTP Basic client authentication. */
export async function clientCredentialsToken(
  as: AuthorizationServer,
  client: { id: string; secret: string },
  request: { resource?: string; scope: string },
): Promise<{ access_token: string; scope?: string; token_type: string }> {
  const res = await fetch(as.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: request.scope,
      ...(request.resource ? { resource: request.resource } : {}),
    }),
  });
  const body = (await res.json()) as {
    access_token: string;
    scope?: string;
    token_type: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok) throw new Error(`token request failed: ${res.status} ${body.error}: ${body.error_description} ${as.errors.join('; ')}`);
  return body;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/**
 * A person at a browser: follows redirects, keeps cookies (by name and path), and fills in and submits
 * the form on each page (the login form with the given credentials, the consent form as it is) until
 * the AS redirects to the client's redirect URI, which it does not load.
 */
export class Browser {
  private readonly cookies = new Map<string, Cookie>();

  async authorize(
    start: URL,
    redirectUri: string,
    credentials: { login: string; password: string },
  ): Promise<{ callback: URL; prompts: string[] }> {
    const prompts: string[] = [];
    let next: { url: URL; body?: URLSearchParams } = { url: start };
    for (let step = 0; step < 20; step++) {
      if (next.url.href.startsWith(redirectUri)) return { callback: next.url, prompts };
      const headers: Record<string, string> = {};
      const cookie = this.cookieHeader(next.url);
      if (cookie) headers.cookie = cookie;
      if (next.body) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(next.url, {
        method: next.body ? 'POST' : 'GET',
        headers,
        redirect: 'manual',
        ...(next.body ? { body: next.body } : {}),
      });
      this.store(res, next.url);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        next = { url: new URL(location, next.url) };
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${next.url.pathname} answered ${res.status}: ${textOf(html)}`);
      const form = parseForm(html, next.url);
      if (!form) throw new Error(`${next.url.pathname} shows no form: ${textOf(html)}`);
      const fields = new URLSearchParams(form.fields);
      if (fields.has('login')) fields.set('login', credentials.login);
      if (fields.has('password')) fields.set('password', credentials.password);
      prompts.push(fields.get('prompt') ?? '?');
      next = { url: form.action, body: fields };
    }
    throw new Error('the authorization did not come back to the redirect URI within 20 steps');
  }

  private cookieHeader(url: URL): string {
    return [...this.cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  private store(res: Response, url: URL): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const a of attributes) {
        const [k = '', v = ''] = a.split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const key = `${name}\u0000${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }
}

function parseForm(html: string, base: URL): { action: URL; fields: Array<[string, string]> } | undefined {
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const fields: Array<[string, string]> = [];
  for (const input of form[2]!.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
    if (name) fields.push([unescapeHtml(name), unescapeHtml(/\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? '')]);
  }
  return { action: new URL(unescapeHtml(form[1]!), base), fields };
}

function unescapeHtml(s: string): string {
  return s.replace(
    /&(amp|lt|gt|quot|#39|#x27);/g,
    (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[e] ?? '',
  );
}

function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
}

/**
 * The SDK's OAuthClientProvider, in memory: what an MCP client application keeps between the
 * redirect to the AS and the callback. It records the authorization URLs it was sent to.
 */
export class MemoryOAuthClient implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly authorizationUrls: URL[] = [];
  readonly states: string[] = [];
  private information: OAuthClientInformationMixed | undefined;
  private stored: OAuthTokens | undefined;
  private verifier: string | undefined;
  /** How many times the SDK registered this client dynamically. */
  registrations = 0;

  constructor(redirectUrl: string, preRegistered?: OAuthClientInformationMixed) {
    this.redirectUrl = redirectUrl;
    this.information = preRegistered;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'mcp-job-gateway test agent',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state(): string {
    const s = randomUUID();
    this.states.push(s);
    return s;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    if (this.information?.client_id !== information.client_id) this.registrations++;
    this.information = information;
  }

  tokens(): OAuthTokens | undefined {
    return this.stored;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.stored = tokens;
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrls.push(url);
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.verifier) throw new Error('no code verifier saved');
    return this.verifier;
  }
}
