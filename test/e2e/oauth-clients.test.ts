// MCP clients that sign in by themselves, against the sandbox as `npm start` runs it: the gateway's
// 401 sends them to the sandbox issuer's authorization server, and the TypeScript SDK clients' own
// OAuth code does the rest (discovery, registration or a client ID metadata document, PKCE, the
// resource indicator, the token exchange, the 403 step-up). The test only plays the browser: it
// follows the authorization URL the client hands over, with fetch, keeping cookies, until the
// automatic sign-in redirects back with a code. No token is made by hand.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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
import { pino } from 'pino';
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { createGateway } from '../../src/gateway.ts';
import { offsetSandboxPorts } from '../../src/sandbox/ports.ts';
import { startSandbox } from '../../src/sandbox/runner.ts';
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

/** A 1.x client registered for refresh tokens, as the Inspector CLI and most 1.x applications register. */
class RefreshingOAuthClient extends MemoryOAuthClient {
  override get clientMetadata() {
    return { ...super.clientMetadata, grant_types: ['authorization_code', 'refresh_token'] };
  }
}

/** Calls a tool through a new 1.x client session on `oauth`; an UnauthorizedError means the SDK handed over an authorization URL. */
async function callWith(mcpUrl: string, oauth: MemoryOAuthClient, name: string, args: Record<string, unknown>) {
  const client = new Client({ name: 'oauth-e2e', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: oauth });
  try {
    await client.connect(transport);
    return { result: structured(await client.callTool({ name, arguments: args })), transport };
  } catch (e) {
    if (e instanceof UnauthorizedError) return { unauthorized: true as const, transport };
    throw e;
  } finally {
    await client.close();
  }
}

/**
 * The 1.x SDK's sign-in and step-up with a client registered for refresh tokens: the first grant
 * (jobs:read) comes without a refresh token, so the 403 on cancel_job sends the client to sign in
 * for both scopes instead of refreshing into jobs:read again.
 */
async function signInAndStepUp(
  mcpUrl: string,
  issuer: string,
  oauth: MemoryOAuthClient,
  browser: Browser,
  cancel: { project: string; job: string },
) {
  const signIn = async (url: URL) => {
    expect(url.origin).toBe(issuer);
    const { callback, prompts } = await browser.authorize(url, REDIRECT, { login: '', password: '' });
    expect(prompts).toEqual([]);
    return callback.searchParams.get('code')!;
  };
  const first = await callWith(mcpUrl, oauth, 'get_job_status', { project_reference: cancel.project, job_id: cancel.job });
  expect(first.unauthorized).toBe(true);
  expect(oauth.authorizationUrls.at(-1)!.searchParams.get('scope')).toBe('jobs:read');
  await first.transport.finishAuth(await signIn(oauth.authorizationUrls.at(-1)!));
  expect(decodeJwt(oauth.tokens()!.access_token).scope).toBe('jobs:read');
  expect(oauth.tokens()!.refresh_token).toBeUndefined();

  const before = oauth.authorizationUrls.length;
  const refused = await callWith(mcpUrl, oauth, 'cancel_job', { project_reference: cancel.project, job_id: cancel.job });
  expect(refused.unauthorized).toBe(true);
  expect(oauth.authorizationUrls).toHaveLength(before + 1);
  expect(oauth.authorizationUrls.at(-1)!.searchParams.get('scope')).toBe('jobs:read jobs:cancel');
  await refused.transport.finishAuth(await signIn(oauth.authorizationUrls.at(-1)!));
  expect(decodeJwt(oauth.tokens()!.access_token).scope).toBe('jobs:read jobs:cancel');
  expect(oauth.tokens()!.refresh_token).toBeTruthy(); // every scope of the gateway: a refresh keeps it whole

  const cancelled = await callWith(mcpUrl, oauth, 'cancel_job', { project_reference: cancel.project, job_id: cancel.job });
  expect(cancelled.result).toMatchObject({ outcome: 'cancelled', status_before: 'queued' });
}

describe('the TypeScript SDK 1.x client registered for refresh tokens', () => {
  it('signs in again for jobs:cancel on the 403 step-up (it has no refresh token that could only give jobs:read), then refreshes', async () => {
    const oauth = new RefreshingOAuthClient(REDIRECT);
    await signInAndStepUp(t.mcpUrl, issuerUrl(), oauth, new Browser(), { project: 'site-x', job: seed(t, 'site-x', 'queued', 0) });
    expect(oauth.registrations).toBe(1);

    // A token the gateway no longer takes (here: not a token at all): the SDK refreshes, with no sign-in, and keeps both scopes.
    const urls = oauth.authorizationUrls.length;
    oauth.saveTokens({ ...oauth.tokens()!, access_token: 'expired' });
    const read = await callWith(t.mcpUrl, oauth, 'get_job_status', { project_reference: 'site-x', job_id: seed(t, 'site-x', 'running') });
    expect(read.result).toMatchObject({ found: true, status: 'running' });
    expect(oauth.authorizationUrls).toHaveLength(urls);
    expect(decodeJwt(oauth.tokens()!.access_token).scope).toBe('jobs:read jobs:cancel');
  });
});

describe('after a restart of the sandbox', () => {
  /** The shipped sandbox with all its ports moved by `offset` (the same each time), its issuer's state in `stateDir`, and a gateway. */
  async function startAt(offset: number, stateDir: string) {
    const config = offsetSandboxPorts(loadConfigFile('config/sandbox.yaml'), offset);
    const sandbox = await startSandbox(config, { stateDir });
    const gateway = createGateway(
      { ...config, admin: { ...config.admin, port: 0 }, sandbox: undefined },
      { logger: pino({ level: 'silent' }) },
    );
    try {
      const { mcpUrl } = await gateway.listen();
      return { mcpUrl, sandbox, close: async () => void (await Promise.all([gateway.close(), sandbox.close()])) };
    } catch (e) {
      await Promise.all([gateway.close(), sandbox.close()]);
      throw e;
    }
  }

  // The restarts happen in this process, where connections pooled to the stopped servers would be
  // taken for the next request before their closing is seen; a real restart ends the process, and a
  // client sees its connections close. Each run of the sandbox gets fresh connections.
  const agents: Agent[] = [];
  let previous: Dispatcher;
  beforeAll(() => void (previous = getGlobalDispatcher()));
  afterAll(async () => {
    setGlobalDispatcher(previous);
    await Promise.all(agents.map((a) => a.close()));
  });
  const freshConnections = () => {
    const agent = new Agent();
    agents.push(agent);
    setGlobalDispatcher(agent);
  };

  it('takes back the clients it registered: their tokens, refresh tokens and client id work on, with no manual step', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'sandbox-state-')), 'sandbox');
    let offset = 0;
    let first;
    for (let attempt = 1; !first; attempt++) {
      // Every port between 9000 and 32767, below the free ports the system hands the tests beside this
      // one: only a service of this machine can be in the way, and another offset answers that.
      offset = 1_000 + Math.floor(Math.random() * 13_000);
      first = await startAt(offset, stateDir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EADDRINUSE' || attempt === 3) throw e;
      });
    }
    const issuer = first.sandbox.issuer!.issuer;
    const oauth = new RefreshingOAuthClient(REDIRECT);
    const job = (state: 'queued' | 'running') => first.sandbox.seedsByProject.get('agents')![state][0]!;
    try {
      await signInAndStepUp(first.mcpUrl, issuer, oauth, new Browser(), { project: 'agents', job: job('queued') });
    } finally {
      await first.close();
    }
    // The key and what the authorization server registered, owner-only, in the folder it was given.
    expect(readdirSync(stateDir).sort()).toEqual([`issuer-${18180 + offset}.json`, 'issuer-key.json']);
    for (const f of readdirSync(stateDir)) expect(statSync(join(stateDir, f)).mode & 0o777).toBe(0o600);

    freshConnections();
    const again = await startAt(offset, stateDir);
    try {
      const urls = oauth.authorizationUrls.length;
      const read = { project_reference: 'agents', job_id: job('running') };
      // The access token from before the restart: the same key signs, and the gateway takes it.
      expect((await callWith(again.mcpUrl, oauth, 'get_job_status', read)).result).toMatchObject({ found: true });
      // Its refresh token: still valid.
      oauth.saveTokens({ ...oauth.tokens()!, access_token: 'expired' });
      expect((await callWith(again.mcpUrl, oauth, 'get_job_status', read)).result).toMatchObject({ found: true });
      expect(oauth.authorizationUrls).toHaveLength(urls);
      // Its client id: a new sign-in with it goes through, with no new registration.
      oauth.saveTokens({ access_token: 'expired', token_type: 'Bearer' });
      const signIn = await callWith(again.mcpUrl, oauth, 'get_job_status', read);
      expect(signIn.unauthorized).toBe(true);
      const url = oauth.authorizationUrls.at(-1)!;
      expect(url.searchParams.get('client_id')).toBe(oauth.clientInformation()!.client_id);
      const { callback } = await new Browser().authorize(url, REDIRECT, { login: '', password: '' });
      await signIn.transport.finishAuth(callback.searchParams.get('code')!);
      expect((await callWith(again.mcpUrl, oauth, 'get_job_status', read)).result).toMatchObject({ found: true });
      expect(oauth.registrations).toBe(1);
    } finally {
      await again.close();
    }

    // The same restart without its state folder forgets the client: the sign-in the issue reported as refused.
    freshConnections();
    const forgetful = await startAt(offset, join(stateDir, '..', 'elsewhere'));
    try {
      oauth.saveTokens({ access_token: 'expired', token_type: 'Bearer' });
      const signIn = await callWith(forgetful.mcpUrl, oauth, 'get_job_status', { project_reference: 'agents', job_id: job('running') });
      await expect(new Browser().authorize(oauth.authorizationUrls.at(-1)!, REDIRECT, { login: '', password: '' })).rejects.toThrow(
        /invalid_client/,
      );
      expect(signIn.unauthorized).toBe(true);
    } finally {
      await forgetful.close();
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
