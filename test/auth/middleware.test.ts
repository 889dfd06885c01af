// Authentication at the MCP endpoint through a running gateway: the hostile-token matrix (each
// refused with 401 and nothing reaching a backend), the challenge headers, scope step-up, sessions
// bound to their subject, and tokens that never reach a backend or a log line.
import { generateKeyPair, exportJWK, exportSPKI, SignJWT, type CryptoKey } from 'jose';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { MCP_METHODS, type MethodPolicy } from '../../src/mcp/methods.ts';
import { JOB_TOOLS } from '../../src/mcp/tools/job-tools.ts';
import { backendRequestCount, bearer, initialize, handshake, post, rpc, rpcResult } from './helpers.ts';
import { expectMatchesOutputSchema } from '../helpers/result-schemas.ts';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('authentication at the MCP endpoint', () => {
  let t: TestGateway;
  let logs = '';
  // A second, air-gapped issuer with an RSA key, trusted through a local JWKS file.
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  const RSA_ISSUER = 'https://airgapped.example';

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256');
    const dir = mkdtempSync(join(tmpdir(), 'jwks-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }] }));
    const sink = new Writable({ write: (chunk, _enc, cb) => ((logs += chunk), cb()) });
    t = await startTestGateway({
      configure: (c) =>
        c.auth.mode === 'oauth'
          ? {
              ...c,
              auth: { ...c.auth, jwks_cooldown_seconds: 1, issuers: [...c.auth.issuers, { issuer: RSA_ISSUER, jwks_file: jwksFile }] },
            }
          : c,
      deps: { logger: pino({ level: 'debug' }, sink) },
    });
  });
  afterAll(async () => t?.close());

  const rsaToken = (claims: Record<string, unknown> = {}) =>
    new SignJWT({ scope: 'jobs:read jobs:cancel', projects: ['*'], ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setIssuer(RSA_ISSUER)
      .setSubject('rsa-user')
      .setAudience(t.mcpUrl)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(rsa.privateKey);

  const statusCall = () =>
    rpc(
      'tools/call',
      { name: 'get_job_status', arguments: { project_reference: 'agents', job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]! } },
      7,
    );

  it('serves a valid token, from the sandbox issuer or from a local JWKS file', async () => {
    for (const token of [t.token!, await rsaToken()]) {
      await handshake(t.mcpUrl, token);
      const res = await post(t.mcpUrl, statusCall(), { ...bearer(token) });
      expect(res.status).toBe(200);
      expect(expectMatchesOutputSchema('get_job_status', (await rpcResult(res)).result).structuredContent).toMatchObject({
        status: 'succeeded',
      });
    }
  });

  it('answers a request without a token with 401 and a challenge naming the metadata and the read scope', async () => {
    const res = await post(t.mcpUrl, initialize());
    expect(res.status).toBe(401);
    const metadata = `${new URL(t.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`;
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadata}", scope="jobs:read"`);
  });

  it('refuses every hostile token with 401 invalid_token, and no backend hears of the call', async () => {
    await handshake(t.mcpUrl, t.token!);
    const now = Math.floor(Date.now() / 1000);
    const valid = t.token!;
    const [h, p] = valid.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const hs256 = (secret: string | Buffer) => {
      const head = b64({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' });
      const body = b64({ ...payload, iss: RSA_ISSUER });
      return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
    };
    const other = await generateKeyPair('ES256');
    const signOther = (iss: string) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', kid: JSON.parse(Buffer.from(h!, 'base64url').toString()).kid })
        .setIssuer(iss)
        .sign(other.privateKey);

    const cases: [string, string, Record<string, string>, string?][] = [
      ['Basic credentials', 'not_bearer', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['a malformed JWT', 'malformed', bearer('not.a.jwt')],
      ['alg none', 'algorithm', bearer(`${b64({ alg: 'none', typ: 'JWT' })}.${p}.`)],
      ['HS256 signed with the RSA public key', 'algorithm', bearer(hs256(await exportSPKI(rsa.publicKey)))],
      ['a wrong issuer', 'unknown_issuer', bearer(await t.mint({ claims: { iss: 'https://evil.example' } }))],
      ['a trusted issuer name signed by another key', 'bad_signature', bearer(await signOther(payload.iss))],
      ['a wrong audience', 'wrong_audience', bearer(await t.mint({ audience: 'https://jobs.example.com/mcp' }))],
      ['a token for another resource', 'wrong_audience', bearer(await t.mint({ audience: 'https://other.example/mcp' }))],
      ['an expired token', 'expired', bearer(await t.mint({ claims: { exp: now - 3600, iat: now - 7200 } }))],
      ['nbf in the future', 'not_yet_valid', bearer(await t.mint({ claims: { nbf: now + 3600 } }))],
      ['iat in the future', 'not_yet_valid', bearer(await t.mint({ claims: { iat: now + 3600 } }))],
      ['no exp', 'missing_claim', bearer(await t.mint({ claims: { exp: undefined } }))],
      ['a 20 KB token', 'too_large', bearer(await t.mint({ claims: { pad: 'x'.repeat(20_000) } }))],
      ['the token in the query string', 'token_in_query', {}, `?access_token=${valid}`],
      ['the token in the query string beside a valid header', 'token_in_query', bearer(valid), `?access_token=${valid}`],
    ];
    for (const [what, reason, headers, query] of cases) {
      const before = backendRequestCount(t);
      const res = await post(t.mcpUrl + (query ?? ''), statusCall(), { ...headers });
      expect(res.status, what).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge, what).toMatch(/^Bearer resource_metadata="[^"]+", scope="jobs:read"/);
      expect(challenge, what).toMatch(/error="(invalid_token|invalid_request)"/);
      expect(backendRequestCount(t), what).toBe(before);
      // Refused for its own reason, not by accident (the gateway logs the reason, never the token).
      expect(/"reason":"(\w+)"/.exec(logs.trim().split('\n').at(-1)!)?.[1], what).toBe(reason);
    }
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('refetches the JWKS once for an unknown key id (after the cooldown), then refuses', async () => {
    // jose times the refetch cooldown with the global Date (it takes no clock): move Date past the 1 s
    // cooldown and hold it there, so the second refusal below falls within the cooldown however slow the machine.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 1100 });
    const fetches = () => t.sandbox.issuer!.server.requests.filter((r) => r.path === '/jwks.json').length;
    const before = fetches();
    const forged = await new SignJWT({ scope: 'jobs:read', projects: ['*'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'no-such-key' })
      .setIssuer(t.sandbox.issuer!.issuer)
      .setSubject('x')
      .setAudience(t.mcpUrl)
      .setExpirationTime('1h')
      .sign((await generateKeyPair('ES256')).privateKey);
    expect((await post(t.mcpUrl, initialize(), bearer(forged))).status).toBe(401);
    expect(fetches()).toBe(before + 1);
    // A second unknown kid right away does not hammer the issuer.
    expect((await post(t.mcpUrl, initialize(), bearer(forged))).status).toBe(401);
    expect(fetches()).toBe(before + 1);
  });

  it('asks for jobs:cancel with a 403 insufficient_scope challenge, so a client can step up', async () => {
    const readOnly = await t.mint({ scopes: ['jobs:read'] });
    await handshake(t.mcpUrl, readOnly);
    const job = t.sandbox.seedsByProject.get('agents')!.queued[0]!;
    const before = backendRequestCount(t);
    const res = await post(t.mcpUrl, rpc('tools/call', { name: 'cancel_job', arguments: { project_reference: 'agents', job_id: job } }), {
      ...bearer(readOnly),
    });
    expect(res.status).toBe(403);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="jobs:read jobs:cancel"');
    expect(challenge).toContain(`resource_metadata="${new URL(t.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp"`);
    expect(backendRequestCount(t)).toBe(before);
    // Reading still works with the same token.
    const ok = await post(t.mcpUrl, statusCall(), { ...bearer(readOnly) });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    // A token without even jobs:read cannot list tools.
    const none = await t.mint({ scopes: ['profile'] });
    const r = await post(t.mcpUrl, initialize(), bearer(none));
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toContain('scope="jobs:read"');
  });

  it('refuses a read-only token with 403 insufficient_scope for every method and tool whose entry needs cancel, in both eras', async () => {
    // Taken from the table of methods and the tools' own declarations, so an acting method or tool
    // added later is covered here without a word changed.
    const acting = [
      ...(Object.values(MCP_METHODS) as MethodPolicy[])
        .filter((m) => m.scope === 'cancel')
        .map((m) => ({ what: m.label, method: m.label, params: {} as Record<string, unknown> })),
      ...JOB_TOOLS.filter((tool) => tool.scope === 'cancel').map((tool) => ({
        what: `tools/call ${tool.name}`,
        method: 'tools/call',
        params: { name: tool.name, arguments: { project_reference: 'agents', job_id: 'any' } } as Record<string, unknown>,
      })),
    ];
    expect(acting.map((a) => a.what)).toContain('tools/call cancel_job');
    const readOnly = await t.mint({ scopes: ['jobs:read'] });
    const envelope = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    for (const { what, method, params } of acting) {
      const name = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
      const eras = {
        '2025-11-25': () => post(t.mcpUrl, rpc(method, params), bearer(readOnly)),
        '2026-07-28': () =>
          post(t.mcpUrl, rpc(method, { ...params, _meta: envelope }), {
            ...bearer(readOnly),
            'mcp-protocol-version': '2026-07-28',
            'mcp-method': method,
            ...name,
          }),
      };
      for (const [era, send] of Object.entries(eras)) {
        const before = backendRequestCount(t);
        const res = await send();
        expect(res.status, `${what} (${era})`).toBe(403);
        const challenge = res.headers.get('www-authenticate') ?? '';
        expect(challenge, `${what} (${era})`).toContain('error="insufficient_scope"');
        expect(challenge, `${what} (${era})`).toContain('scope="jobs:read jobs:cancel"');
        await res.body?.cancel();
        expect(backendRequestCount(t), `${what} (${era})`).toBe(before);
      }
    }
  });

  it('reads scopes from an scp array (Okta) or an scp string (Entra)', async () => {
    for (const scp of [['jobs:read', 'jobs:cancel'], 'jobs:read jobs:cancel']) {
      const token = await t.mint({ scopes: [], claims: { scp } });
      const client = await t.client({ token });
      const r = await client.callTool({
        name: 'cancel_job',
        arguments: { project_reference: 'agents', job_id: t.sandbox.seedsByProject.get('agents')!.succeeded[0]! },
      });
      expect(r.structuredContent).toMatchObject({ outcome: 'already_terminal' });
    }
  });

  it('logs and audits a token without `sub` by its client and issuer, not as a user', async () => {
    const token = await t.mint({ clientId: 'nightly-cleaner', claims: { sub: undefined } });
    const job = t.sandbox.seedsByProject.get('agents')!.succeeded[0]!;
    await handshake(t.mcpUrl, token);
    const res = await post(
      t.mcpUrl,
      rpc('tools/call', { name: 'cancel_job', arguments: { project_reference: 'agents', job_id: job } }),
      bearer(token),
    );
    expect(expectMatchesOutputSchema('cancel_job', (await rpcResult(res)).result).structuredContent).toMatchObject({
      outcome: 'already_terminal',
    });
    const lines = logs
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const call = lines.find((l) => l.event === 'tool_call' && l.client_id === 'nightly-cleaner');
    const audit = lines.find((l) => l.event === 'audit' && l.client_id === 'nightly-cleaner');
    expect(call).toBeDefined();
    expect(call).not.toHaveProperty('subject');
    expect(audit).toMatchObject({ issuer: t.sandbox.issuer!.issuer, outcome: 'already_terminal' });
    expect(audit).not.toHaveProperty('subject');
  });

  it('never forwards a caller token to a backend and never writes one to the logs', async () => {
    const tokens = [t.token!, await rsaToken()];
    const seen = t.sandbox.simulations.flatMap((s) => s.server.requests.map((r) => JSON.stringify(r.headers) + r.body));
    expect(seen.length).toBeGreaterThan(0);
    for (const token of tokens) {
      for (const request of seen) expect(request).not.toContain(token);
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.split('.')[2]!); // not even the signature
    }
  });
});
