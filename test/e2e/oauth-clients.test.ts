// MCP clients that sign in by themselves, against the sandbox as `npm start` runs it: the gateway's
// 401 sends them to the sandbox issuer's authorization server, and the TypeScript SDK clients' own
// OAuth code does the rest (discovery, registration or a client ID metadata document, PKCE, the
// resource indicator, the token exchange, the 403 step-up). The test only plays the browser: it
// follows the authorization URL the client hands over, with fetch, keeping cookies, until the
// automatic sign-in redirects back with a code. No token is made by hand.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
  UnauthorizedError as ModernUnauthorizedError,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, MemoryOAuthClient } from '../helpers/authorization-server.ts';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

// Where a client application would receive the callback; the browser stops there.
const REDIRECT = 'http://127.0.0.1:33418/callback';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(async () => t?.close());

const issuerUrl = () => t.sandbox.issuer!.issuer;
const structured = (r: unknown) => (r as CallToolResult).structuredContent as Record<string, unknown>;

/** The browser's part: from the authorization URL to the redirect back, with no page to fill. */
async function signIn(browser: Browser, authorizationUrl: URL): Promise<URL> {
  expect(authorizationUrl.origin).toBe(issuerUrl());
  const { callback, prompts } = await browser.authorize(authorizationUrl, REDIRECT, { login: '', password: '' });
  expect(prompts).toEqual([]); // nothing to type, nothing to click
  expect(callback.searchParams.get('code'), callback.href).toBeTruthy();
  return callback;
}

describe('the TypeScript SDK 1.x client (OAuthClientProvider, dynamic client registration)', () => {
  it('goes from a bare 401 to get_job_status, then through the 403 step-up to cancel_job', async () => {
    const oauth = new MemoryOAuthClient(REDIRECT);
    const seen: string[] = [];
    const recording: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      seen.push(`${init?.method ?? 'GET'} ${String(url)} ${res.status}`);
      return res;
    };
    const browser = new Browser();

    // No token: the gateway answers 401, and the SDK finds the authorization server, registers, and
    // hands over the authorization URL.
    const first = new Client({ name: 'oauth-e2e', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(t.mcpUrl), { authProvider: oauth, fetch: recording });
    await expect(first.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(seen[0]).toBe(`POST ${t.mcpUrl} 401`);
    expect(seen).toContain(`GET ${new URL(t.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp 200`);
    expect(seen).toContain(`GET ${issuerUrl()}/.well-known/oauth-authorization-server 200`);
    expect(seen).toContain(`POST ${issuerUrl()}/register 201`);
    const authorize = oauth.authorizationUrls[0]!;
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      scope: 'jobs:read',
      resource: t.mcpUrl,
      code_challenge_method: 'S256',
    });

    await transport.finishAuth((await signIn(browser, authorize)).searchParams.get('code')!);
    expect(decodeJwt(oauth.tokens()!.access_token)).toMatchObject({
      iss: issuerUrl(),
      aud: t.mcpUrl,
      sub: 'sandbox-user',
      scope: 'jobs:read',
      client_id: oauth.clientInformation()!.client_id,
      projects: ['*'],
    });

    const client = new Client({ name: 'oauth-e2e', version: '1.0.0' });
    const session = new StreamableHTTPClientTransport(new URL(t.mcpUrl), { authProvider: oauth, fetch: recording });
    await client.connect(session);
    try {
      const running = seed(t, 'agents', 'running');
      expect(
        structured(await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'agents', job_id: running } })),
      ).toMatchObject({
        status: 'running',
        found: true,
      });

      // cancel_job needs jobs:cancel: the gateway's 403 makes the SDK ask the authorization server again, for both scopes.
      const queued = seed(t, 'agents', 'queued', 0);
      await expect(
        client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: queued } }),
      ).rejects.toBeInstanceOf(UnauthorizedError);
      expect(seen).toContain(`POST ${t.mcpUrl} 403`);
      expect(oauth.authorizationUrls).toHaveLength(2);
      expect(Object.fromEntries(oauth.authorizationUrls[1]!.searchParams)).toMatchObject({
        scope: 'jobs:read jobs:cancel',
        resource: t.mcpUrl,
      });
      await session.finishAuth((await signIn(browser, oauth.authorizationUrls[1]!)).searchParams.get('code')!);
      expect(decodeJwt(oauth.tokens()!.access_token)).toMatchObject({ scope: 'jobs:read jobs:cancel', aud: t.mcpUrl });
      expect(oauth.registrations).toBe(1); // the same registration, now allowed more scope

      expect(
        structured(await client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: queued } })),
      ).toMatchObject({
        outcome: 'cancelled',
        status_before: 'queued',
      });
    } finally {
      await client.close();
    }
  });
});

/** The v2 SDK's OAuthClientProvider, in memory, identified by a client ID metadata document URL. */
class MetadataDocumentClient implements OAuthClientProvider {
  readonly redirectUrl = REDIRECT;
  readonly authorizationUrls: URL[] = [];
  private info: StoredOAuthClientInformation | undefined;
  private stored: StoredOAuthTokens | undefined;
  private verifier = '';
  private discovery: OAuthDiscoveryState | undefined;
  readonly clientMetadataUrl: string;
  constructor(clientMetadataUrl: string) {
    this.clientMetadataUrl = clientMetadataUrl;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'oauth-e2e v2',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state = () => randomUUID();
  clientInformation = () => this.info;
  saveClientInformation = (info: StoredOAuthClientInformation) => void (this.info = info);
  tokens = () => this.stored;
  saveTokens = (tokens: StoredOAuthTokens) => void (this.stored = tokens);
  redirectToAuthorization = (url: URL) => void this.authorizationUrls.push(url);
  saveCodeVerifier = (v: string) => void (this.verifier = v);
  codeVerifier = () => this.verifier;
  // Kept beside the verifier, so the callback leg can check it comes back from the same server.
  saveDiscoveryState = (state: OAuthDiscoveryState) => void (this.discovery = state);
  discoveryState = () => this.discovery;
}

describe('the TypeScript SDK v2 client (MCP 2026-07-28, a client ID metadata document)', () => {
  let docs: Server;
  let documentUrl: string;
  const fetched: string[] = [];

  beforeAll(async () => {
    // The SDK accepts only https client IDs: serve the document over TLS on loopback, with a
    // certificate made here and trusted by this process (where the sandbox runs) only.
    const dir = mkdtempSync(join(tmpdir(), 'cimd-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { stdio: 'pipe' },
      );
    } catch (e) {
      throw new Error(`making a test TLS certificate needs the openssl command: ${(e as Error).message}`, { cause: e });
    }
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const key = readFileSync(join(dir, 'key.pem'));
    rmSync(dir, { recursive: true, force: true });
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), cert]);
    docs = createServer({ key, cert }, (req, res) => {
      fetched.push(req.url ?? '');
      if (req.url !== '/oauth/client-metadata.json') return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ client_id: documentUrl, ...new MetadataDocumentClient(documentUrl).clientMetadata }));
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', () => r()));
    documentUrl = `https://127.0.0.1:${(docs.address() as AddressInfo).port}/oauth/client-metadata.json`;
  });
  afterAll(async () => {
    docs?.closeAllConnections();
    await new Promise<void>((r) => (docs ? docs.close(() => r()) : r()));
  });

  it('goes from a bare 401 to get_job_status, then through the 403 step-up to cancel_job, with its URL as client_id', async () => {
    const oauth = new MetadataDocumentClient(documentUrl);
    const browser = new Browser();
    const connect = async () => {
      const client = new ModernClient({ name: 'oauth-e2e', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      const transport = new ModernTransport(new URL(t.mcpUrl), { authProvider: oauth });
      return { client, transport, connecting: client.connect(transport) };
    };

    const first = await connect();
    await expect(first.connecting).rejects.toBeInstanceOf(ModernUnauthorizedError);
    const authorize = oauth.authorizationUrls[0]!;
    // No registration: the client_id is the document's URL, which the authorization server fetched.
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: documentUrl,
      resource: t.mcpUrl,
      code_challenge_method: 'S256',
    });
    // The v2 SDK adds offline_access (for a refresh token) when the authorization server offers it.
    expect(authorize.searchParams.get('scope')?.split(' ').sort()).toEqual(['jobs:read', 'offline_access']);
    await first.transport.finishAuth((await signIn(browser, authorize)).searchParams); // checks `iss` too (RFC 9207)
    expect(fetched).toContain('/oauth/client-metadata.json');
    const read = oauth.tokens()!;
    expect(decodeJwt(read.access_token)).toMatchObject({ aud: t.mcpUrl, client_id: documentUrl, scope: 'jobs:read', sub: 'sandbox-user' });
    expect(read.refresh_token).toBeTruthy();

    const second = await connect();
    await second.connecting;
    try {
      const running = seed(t, 'studio-a', 'running');
      expect(
        structured(await second.client.callTool({ name: 'get_job_status', arguments: { project_reference: 'studio-a', job_id: running } })),
      ).toMatchObject({ status: 'running', found: true });

      const queued = seed(t, 'agents', 'queued', 1);
      await expect(
        second.client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: queued } }),
      ).rejects.toBeInstanceOf(ModernUnauthorizedError);
      expect(oauth.authorizationUrls).toHaveLength(2);
      expect(oauth.authorizationUrls[1]!.searchParams.get('scope')?.split(' ').sort()).toEqual([
        'jobs:cancel',
        'jobs:read',
        'offline_access',
      ]);
      await second.transport.finishAuth((await signIn(browser, oauth.authorizationUrls[1]!)).searchParams);
      expect(decodeJwt(oauth.tokens()!.access_token).scope).toBe('jobs:read jobs:cancel');

      expect(
        structured(await second.client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: queued } })),
      ).toMatchObject({
        outcome: 'cancelled',
        status_before: 'queued',
      });
    } finally {
      await second.client.close();
    }
  });
});
