// The gateway as a resource server in front of a real authorization server: oidc-provider, in
// process on loopback, issuing RFC 9068 JWT access tokens for resource indicators (RFC 8707). Tokens
// are obtained the ways real clients obtain them (client credentials; the SDK client's own
// authorization-code flow with discovery, dynamic registration and PKCE; step-up on a 403), and the
// gateway must honour exactly the audience, scopes and projects the AS put in them, and forward none
// of them to a backend.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND_KINDS, SANDBOX_SERVICE_NAMES, sandboxService } from '../../src/backends/registry.ts';
import { oauthSchema } from '../../src/config/schema.ts';
import {
  Browser,
  clientCredentialsToken,
  MemoryOAuthClient,
  startAuthorizationServer,
  type AuthorizationServer,
} from '../helpers/authorization-server.ts';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const ROBOT = { id: 'jobs-robot', secret: 'robot-secret-that-is-long-enough-0123456789' };
// A public client an operator registered beforehand (no registered scope restriction).
const AGENT_APP = 'mcp-agent-app';
// Where the client application would receive the callback; the test's browser stops there.
const REDIRECT = 'http://127.0.0.1/oauth/callback';
const OTHER_RESOURCE = 'https://other.example/mcp';

// The projects claim the AS puts in tokens, by subject (a user, or the client for client credentials).
const PROJECTS: Record<string, string[]> = {
  [ROBOT.id]: ['agents', 'site-x', 'cloud-renders', 'predictions', 'flux', 'gpu-workers'],
  alice: ['agents', 'studio-a'],
  bob: ['agents'],
};

type Result = Record<string, unknown> & { error?: { code: string } };

function rpc(name: string, args: Record<string, unknown>) {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
}

describe('against a real authorization server (oidc-provider)', () => {
  let as: AuthorizationServer;
  let t: TestGateway;
  /** Every access token a test used, for the never-forwarded check. */
  const used: string[] = [];
  const clients: Client[] = [];

  const post = (token: string, body: string) =>
    fetch(t.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body,
    });
  const call = async (client: Client, name: string, args: Record<string, unknown>) =>
    ((await client.callTool({ name, arguments: args })) as CallToolResult).structuredContent as Result;
  const connect = async (transport: StreamableHTTPClientTransport) => {
    const client = new Client({ name: 'oauth-test-agent', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
    return client;
  };
  const prmUrl = () => `${new URL(t.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`;

  beforeAll(async () => {
    as = await startAuthorizationServer({
      clients: [
        {
          client_id: ROBOT.id,
          client_secret: ROBOT.secret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          token_endpoint_auth_method: 'client_secret_basic',
        },
        {
          client_id: AGENT_APP,
          grant_types: ['authorization_code'],
          redirect_uris: [REDIRECT],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        },
      ],
      projectsFor: (subject) => PROJECTS[subject],
    });
    t = await startTestGateway({
      configure: (c) => ({ ...c, auth: oauthSchema.parse({ mode: 'oauth', issuers: [{ issuer: as.issuer, jwks_uri: as.jwksUri }] }) }),
    });
    as.addResource(t.mcpUrl);
    as.addResource(OTHER_RESOURCE);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await t?.close();
    await as?.close();
  });

  it('client credentials: a read-only token reads but gets 403 insufficient_scope for cancel_job; a read+cancel token cancels', async () => {
    const read = await clientCredentialsToken(as, ROBOT, { resource: t.mcpUrl, scope: 'jobs:read' });
    used.push(read.access_token);
    expect(read.scope).toBe('jobs:read');
    expect(decodeProtectedHeader(read.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(decodeJwt(read.access_token)).toMatchObject({
      iss: as.issuer,
      aud: t.mcpUrl,
      client_id: ROBOT.id,
      sub: ROBOT.id,
      scope: 'jobs:read',
      projects: PROJECTS[ROBOT.id],
    });

    const reader = await connect(
      new StreamableHTTPClientTransport(new URL(t.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${read.access_token}` } } }),
    );
    const { tools } = await reader.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(['cancel_job', 'get_job_status', 'list_jobs', 'list_projects']);
    for (const project of PROJECTS[ROBOT.id]!) {
      const status = await call(reader, 'get_job_status', { project_reference: project, job_id: seed(t, project, 'succeeded') });
      expect(status, project).toMatchObject({ project_reference: project, status: 'succeeded', found: true });
    }
    // The projects claim the AS issued is what the gateway goes by: studio-a is not in it.
    expect(await call(reader, 'get_job_status', { project_reference: 'studio-a', job_id: seed(t, 'studio-a', 'succeeded') })).toMatchObject(
      {
        error: { code: 'UNKNOWN_PROJECT' },
      },
    );

    // cancel_job needs jobs:cancel: the SDK client surfaces the 403 as an error, and the job is untouched.
    const queued = seed(t, 'agents', 'queued');
    await expect(reader.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: queued } })).rejects.toMatchObject(
      { code: 403 },
    );
    expect(await call(reader, 'get_job_status', { project_reference: 'agents', job_id: queued })).toMatchObject({ status: 'queued' });

    // The raw answer is a step-up challenge naming both scopes.
    const refused = await post(read.access_token, rpc('cancel_job', { project_reference: 'agents', job_id: queued }));
    expect(refused.status).toBe(403);
    const challenge = refused.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="jobs:read jobs:cancel"');
    expect(challenge).toContain(`resource_metadata="${prmUrl()}"`);

    const both = await clientCredentialsToken(as, ROBOT, { resource: t.mcpUrl, scope: 'jobs:read jobs:cancel' });
    used.push(both.access_token);
    expect(decodeJwt(both.access_token).scope).toBe('jobs:read jobs:cancel');
    const canceller = await connect(
      new StreamableHTTPClientTransport(new URL(t.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${both.access_token}` } } }),
    );
    expect(await call(canceller, 'cancel_job', { project_reference: 'agents', job_id: queued })).toMatchObject({
      outcome: 'cancelled',
      status_before: 'queued',
      status_after: 'cancelled',
    });
  });

  it('refuses with 401 invalid_token a token the same AS issued for another resource, or with no resource, and calls no backend', async () => {
    const other = await clientCredentialsToken(as, ROBOT, { resource: OTHER_RESOURCE, scope: 'jobs:read jobs:cancel' });
    // Same issuer, same key, valid signature and scopes: only the audience is wrong.
    expect(decodeJwt(other.access_token)).toMatchObject({ iss: as.issuer, aud: OTHER_RESOURCE, scope: 'jobs:read jobs:cancel' });
    // Without a resource indicator oidc-provider issues an opaque token, meant for its own userinfo endpoint.
    const noResource = await clientCredentialsToken(as, ROBOT, { scope: 'jobs:read' });
    expect(noResource.access_token.split('.')).toHaveLength(1);
    const tokens = [other.access_token, noResource.access_token];
    used.push(...tokens);

    const before = t.sandbox.simulations.map((s) => s.server.requests.length);
    const why = ['The token was not issued for this resource', 'The token is not a well-formed JWT'];
    for (const [i, token] of tokens.entries()) {
      const res = await post(token, rpc('get_job_status', { project_reference: 'agents', job_id: seed(t, 'agents', 'succeeded') }));
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain(`resource_metadata="${prmUrl()}"`);
      expect(challenge).toContain('scope="jobs:read"');
      expect(challenge).toContain(`error_description="${why[i]}"`);

      // The SDK client cannot even initialize with it.
      const client = new Client({ name: 'oauth-test-agent', version: '1.0.0' });
      clients.push(client);
      await expect(
        client.connect(
          new StreamableHTTPClientTransport(new URL(t.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }),
        ),
      ).rejects.toMatchObject({ code: 401 });
    }
    expect(t.sandbox.simulations.map((s) => s.server.requests.length)).toEqual(before);
  });

  it("the SDK client's own OAuth flow: 401, discovery, dynamic registration, authorization with PKCE and resource, then tool calls", async () => {
    const oauth = new MemoryOAuthClient(REDIRECT);
    const seen: string[] = [];
    const recording: FetchLike = (url, init) => {
      seen.push(`${init?.method ?? 'GET'} ${String(url)}`);
      return fetch(url, init);
    };

    // First connect: no token, 401, and the SDK ends at redirectToAuthorization.
    const first = new Client({ name: 'oauth-test-agent', version: '1.0.0' });
    clients.push(first);
    const transport = new StreamableHTTPClientTransport(new URL(t.mcpUrl), { authProvider: oauth, fetch: recording });
    await expect(first.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);

    // It found the AS through the gateway's protected-resource metadata, then the AS's metadata, and registered.
    expect(seen).toContain(`GET ${prmUrl()}`);
    expect(seen.some((s) => s.startsWith(`GET ${as.issuer}/.well-known/`))).toBe(true);
    expect(oauth.registrations).toBe(1);
    const clientId = oauth.clientInformation()!.client_id;
    expect(seen).toContain(`POST ${as.issuer}/register`);

    expect(oauth.authorizationUrls).toHaveLength(1);
    const authorize = oauth.authorizationUrls[0]!;
    expect(authorize.origin).toBe(as.issuer);
    const params = Object.fromEntries(authorize.searchParams);
    expect(params).toMatchObject({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      // The scope of the gateway's 401 challenge, and the gateway as the resource (RFC 8707).
      scope: 'jobs:read',
      resource: t.mcpUrl,
      code_challenge_method: 'S256',
    });
    expect(params.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The user signs in and consents at the AS's own pages; the AS redirects back with a code.
    const browser = new Browser();
    const { callback, prompts } = await browser.authorize(authorize, REDIRECT, { login: 'alice', password: 'any' });
    expect(prompts).toEqual(['login', 'consent']);
    expect(callback.searchParams.get('state')).toBe(oauth.states.at(-1));
    const code = callback.searchParams.get('code');
    expect(code, `callback ${callback.href}; AS errors: ${as.errors.join('; ')}`).toBeTruthy();

    // Token request with the PKCE verifier and the resource. An audience of the gateway in the token
    // shows the resource reached the AS: without one, oidc-provider issues an opaque token instead.
    await transport.finishAuth(code!);
    const tokens = oauth.tokens()!;
    used.push(tokens.access_token);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: as.issuer,
      aud: t.mcpUrl,
      sub: 'alice',
      client_id: clientId,
      scope: 'jobs:read',
      projects: PROJECTS.alice,
    });

    // Reconnect (a new transport, as after a real redirect) with the same provider: tool calls work.
    const client = await connect(new StreamableHTTPClientTransport(new URL(t.mcpUrl), { authProvider: oauth, fetch: recording }));
    expect((await client.listTools()).tools.map((x) => x.name).sort()).toEqual([
      'cancel_job',
      'get_job_status',
      'list_jobs',
      'list_projects',
    ]);
    for (const project of PROJECTS.alice!) {
      expect(
        await call(client, 'get_job_status', { project_reference: project, job_id: seed(t, project, 'succeeded') }),
        project,
      ).toMatchObject({
        project_reference: project,
        status: 'succeeded',
        found: true,
      });
    }
    expect(oauth.authorizationUrls).toHaveLength(1); // no second trip to the AS
  });

  it('steps up through the SDK: cancel_job with a read-only token, 403, re-authorization for both scopes, then the cancel goes through', async () => {
    // A pre-registered public client this time (the flow above registered dynamically).
    const oauth = new MemoryOAuthClient(REDIRECT, { client_id: AGENT_APP });
    const browser = new Browser();
    const transport = new StreamableHTTPClientTransport(new URL(t.mcpUrl), { authProvider: oauth });
    const first = new Client({ name: 'oauth-test-agent', version: '1.0.0' });
    clients.push(first);
    await expect(first.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(oauth.registrations).toBe(0);
    const signIn = await browser.authorize(oauth.authorizationUrls[0]!, REDIRECT, { login: 'bob', password: 'any' });
    expect(signIn.prompts).toEqual(['login', 'consent']);
    await transport.finishAuth(signIn.callback.searchParams.get('code')!);
    used.push(oauth.tokens()!.access_token);
    expect(decodeJwt(oauth.tokens()!.access_token)).toMatchObject({ sub: 'bob', scope: 'jobs:read', aud: t.mcpUrl });

    const session = new StreamableHTTPClientTransport(new URL(t.mcpUrl), { authProvider: oauth });
    const client = await connect(session);
    const queued = seed(t, 'agents', 'queued', 1);
    // The 403 challenge makes the SDK ask the AS again, for "jobs:read jobs:cancel".
    await expect(
      client.callTool({ name: 'cancel_job', arguments: { project_reference: 'agents', job_id: queued } }),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    expect(oauth.authorizationUrls).toHaveLength(2);
    const stepUp = oauth.authorizationUrls[1]!;
    expect(Object.fromEntries(stepUp.searchParams)).toMatchObject({
      scope: 'jobs:read jobs:cancel',
      resource: t.mcpUrl,
      code_challenge_method: 'S256',
    });

    // Bob is still signed in at the AS: only the consent for the new scope is asked.
    const consent = await browser.authorize(stepUp, REDIRECT, { login: 'bob', password: 'any' });
    expect(consent.prompts).toEqual(['consent']);
    await session.finishAuth(consent.callback.searchParams.get('code')!);
    used.push(oauth.tokens()!.access_token);
    expect(decodeJwt(oauth.tokens()!.access_token)).toMatchObject({ sub: 'bob', scope: 'jobs:read jobs:cancel', aud: t.mcpUrl });

    // Same session, same user, more scope: the retried call succeeds.
    expect(await call(client, 'cancel_job', { project_reference: 'agents', job_id: queued })).toMatchObject({
      outcome: 'cancelled',
      status_before: 'queued',
    });
  });

  it('never forwards an access token to a backend: backends see only their own credentials', () => {
    expect(used.length).toBeGreaterThanOrEqual(7);
    const allowed: Record<string, Set<string>> = Object.fromEntries(SANDBOX_SERVICE_NAMES.map((name) => [name, new Set<string>()]));
    const config = t.sandbox.config;
    for (const p of config.projects) {
      const b = p.backend;
      if (b.kind === 'agent_jobs') allowed.agent_jobs!.add(`Bearer ${b.api_key}`);
      if (b.kind === 'project_runtime') allowed.project_runtime!.add(`Bearer ${b.token}`);
      if (b.kind === 'comfycontrol') allowed.comfycontrol!.add(`Bearer ${b.token}`);
      // The sandbox's http_jobs projects each use the simulation of their profile's API.
      if (b.kind === 'http_jobs') allowed[b.profile!]!.add(b.headers!.Authorization!);
    }
    const contacted = new Set<string>();
    for (const sim of t.sandbox.simulations) {
      for (const req of sim.server.requests) {
        contacted.add(sandboxService(sim.kind).kind);
        const where = `${sim.kind} ${req.method} ${req.path}`;
        const text = `${JSON.stringify(req.headers)}\n${req.path}?${req.query.toString()}\n${req.body}`;
        for (const token of used) expect(text.includes(token), `${where} carries an access token`).toBe(false);
        // No part of a token either (its signature is the part that makes it usable).
        for (const token of used) expect(text.includes(token.split('.').at(-1)!), `${where} carries part of an access token`).toBe(false);
        const authorization = req.headers.authorization;
        if (authorization !== undefined)
          expect(allowed[sim.kind]!.has(authorization), `${where} got Authorization ${authorization.slice(0, 12)}…`).toBe(true);
      }
    }
    // The calls above did reach every kind of backend, so the check is not vacuous.
    expect([...contacted].sort()).toEqual(expect.arrayContaining([...BACKEND_KINDS].sort()));
  });
});
