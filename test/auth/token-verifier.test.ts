// The verifier against a live issuer: key rotation without a restart, and an issuer whose JWKS
// endpoint goes down (cached keys keep working; without any keys the answer is 503, not 401).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { oauthSchema, type OAuthConfig } from '../../src/config/schema.ts';
import { AuthFailure, createTokenVerifier } from '../../src/auth/token-verifier.ts';
import { startSandboxIssuer, type SandboxIssuer } from '../../src/sandbox/issuer.ts';

const AUD = 'https://jobs.example.com/mcp';
let issuer: SandboxIssuer | undefined;
afterEach(async () => issuer?.close());

function configFor(i: SandboxIssuer, extra: Partial<Record<string, unknown>> = {}): OAuthConfig {
  return oauthSchema.parse({ mode: 'oauth', issuers: [{ issuer: i.issuer, jwks_uri: i.jwksUri }], jwks_cooldown_seconds: 1, ...extra });
}

const jwksFetches = (i: SandboxIssuer) => i.server.requests.filter((r) => r.path === '/jwks.json').length;
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as AuthFailure,
  );
// jose times the JWKS refetch cooldown and the key cache's age with the global Date and takes no
// clock, so each test holds Date still and moves it past those intervals instead of sleeping.
const pass = (ms: number) => vi.setSystemTime(Date.now() + ms);

describe('token verifier', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the principal: subject, client, scopes and projects', async () => {
    issuer = await startSandboxIssuer();
    const v = createTokenVerifier(configFor(issuer), [AUD]);
    const p = await v.verify(
      await issuer.mint({ audience: AUD, scopes: ['jobs:read'], subject: 'agent-7', clientId: 'fleet', projects: ['a', 'b'] }),
    );
    expect(p).toMatchObject({ issuer: issuer.issuer, subject: 'agent-7', clientId: 'fleet' });
    expect([...p.scopes]).toEqual(['jobs:read']);
    expect(p.projects).toEqual(new Set(['a', 'b']));
  });

  it('leaves the subject empty for a token without `sub`: a client id never stands in for a user', async () => {
    issuer = await startSandboxIssuer();
    const v = createTokenVerifier(configFor(issuer), [AUD]);
    const p = await v.verify(
      await issuer.mint({ audience: AUD, scopes: ['jobs:read'], clientId: 'ops-oncall', claims: { sub: undefined } }),
    );
    expect(p.subject).toBeUndefined();
    expect(p.clientId).toBe('ops-oncall');
    // A token naming neither a subject nor a client is refused.
    const anonymous = await issuer.mint({ audience: AUD, scopes: ['jobs:read'], claims: { sub: undefined, client_id: undefined } });
    expect(await refusal(v.verify(anonymous))).toMatchObject({ reason: 'missing_claim' });
  });

  it('refuses a token issued in the future (iat beyond the clock tolerance), like nbf', async () => {
    issuer = await startSandboxIssuer();
    const v = createTokenVerifier(configFor(issuer, { clock_tolerance_seconds: 30 }), [AUD]);
    const now = Math.floor(Date.now() / 1000);
    const future = await issuer.mint({ audience: AUD, scopes: ['jobs:read'], claims: { iat: now + 3600, exp: now + 7200 } });
    expect(await refusal(v.verify(future))).toMatchObject({ reason: 'not_yet_valid', status: 401 });
    // A clock a little ahead of ours, within the tolerance, is fine.
    await expect(v.verify(await issuer.mint({ audience: AUD, scopes: ['jobs:read'], claims: { iat: now + 20 } }))).resolves.toMatchObject({
      subject: 'sandbox-user',
    });
  });

  it('reads scopes from auth.scope_claims: scope and scp by default, plus roles for Entra app-only tokens', async () => {
    issuer = await startSandboxIssuer();
    const claims = { scope: 'a b', scp: ['c'], roles: ['jobs:read', 'jobs:cancel'] };
    const byDefault = await createTokenVerifier(configFor(issuer), [AUD]).verify(await issuer.mint({ audience: AUD, scopes: [], claims }));
    expect([...byDefault.scopes].sort()).toEqual(['a', 'b', 'c']);
    const entra = createTokenVerifier(configFor(issuer, { scope_claims: ['scope', 'scp', 'roles'] }), [AUD]);
    // An app-only token: no scp, its permissions in a roles array.
    const appOnly = await entra.verify(
      await issuer.mint({ audience: AUD, scopes: [], claims: { scope: undefined, roles: ['jobs:read', 'jobs:cancel'] } }),
    );
    expect([...appOnly.scopes].sort()).toEqual(['jobs:cancel', 'jobs:read']);
    // A string claim is space-separated, an array claim is a list.
    const rolesOnly = createTokenVerifier(configFor(issuer, { scope_claims: ['roles'] }), [AUD]);
    const fromString = await rolesOnly.verify(
      await issuer.mint({ audience: AUD, scopes: ['ignored'], claims: { roles: 'jobs:read  jobs:cancel' } }),
    );
    expect([...fromString.scopes].sort()).toEqual(['jobs:cancel', 'jobs:read']);
  });

  it('follows a key rotation without a restart: new tokens work, old ones until they expire', async () => {
    issuer = await startSandboxIssuer();
    const v = createTokenVerifier(configFor(issuer), [AUD], { cacheSize: 0 });
    const old = await issuer.mint({ audience: AUD, scopes: ['jobs:read'] });
    await v.verify(old);
    await issuer.rotate({ keepOld: true });
    const fresh = await issuer.mint({ audience: AUD, scopes: ['jobs:read'] });
    pass(1100); // the refetch cooldown
    await expect(v.verify(fresh)).resolves.toMatchObject({ subject: 'sandbox-user' });
    await expect(v.verify(old)).resolves.toMatchObject({ subject: 'sandbox-user' });
    // Once the issuer stops publishing the old key, tokens signed with it are refused.
    await issuer.rotate({ keepOld: false });
    const newest = await issuer.mint({ audience: AUD, scopes: ['jobs:read'] });
    pass(1100);
    await v.verify(newest);
    expect((await refusal(v.verify(old)))?.reason).toBe('unknown_key');
  });

  it('keeps working on cached keys while the JWKS endpoint is down', async () => {
    issuer = await startSandboxIssuer();
    const v = createTokenVerifier(configFor(issuer, { jwks_cache_max_age_seconds: 1 }), [AUD], { cacheSize: 0 });
    const token = await issuer.mint({ audience: AUD, scopes: ['jobs:read'] });
    await v.verify(token);
    issuer.server.setFault({ kind: 'status', status: 503 });
    pass(1100); // the cache is stale now, so the verifier tries the endpoint and fails
    const fetchesBefore = jwksFetches(issuer);
    await expect(v.verify(token)).resolves.toMatchObject({ subject: 'sandbox-user' });
    expect(jwksFetches(issuer)).toBeGreaterThan(fetchesBefore);
  });

  it('checks a repeated token once, then trusts it at most 5 minutes and never past its exp', async () => {
    issuer = await startSandboxIssuer();
    let now = Date.now();
    const v = createTokenVerifier(configFor(issuer), [AUD], { now: () => now });
    const token = await issuer.mint({ audience: AUD, scopes: ['jobs:read'], ttlSeconds: 3600 });
    await v.verify(token);
    // The issuer withdraws the key: the remembered token still passes without a signature check...
    await issuer.rotate({ keepOld: false });
    pass(1100); // the refetch cooldown
    await v.verify(await issuer.mint({ audience: AUD, scopes: ['jobs:read'] })); // makes the verifier fetch the new key set
    await expect(v.verify(token)).resolves.toMatchObject({ subject: 'sandbox-user' });
    // ...but only for a bounded time, after which its signature is checked again and refused.
    now += 301_000;
    expect((await refusal(v.verify(token)))?.reason).toBe('unknown_key');
    // A token is never taken on trust past its exp, however recently it was checked.
    const short = await issuer.mint({ audience: AUD, scopes: ['jobs:read'], ttlSeconds: 60 });
    now = Date.now();
    await v.verify(short);
    await issuer.rotate({ keepOld: false });
    pass(1100);
    await v.verify(await issuer.mint({ audience: AUD, scopes: ['jobs:read'] }));
    now += 30_000;
    await expect(v.verify(short)).resolves.toMatchObject({ subject: 'sandbox-user' });
    now += 31_000;
    expect((await refusal(v.verify(short)))?.reason).toBe('unknown_key');
  });

  it('remembers the last token of a connection within the same limits, and never takes another token for it', async () => {
    issuer = await startSandboxIssuer();
    let now = Date.now();
    // A shared cache of one token, so that the connection's memory is what is tested.
    const v = createTokenVerifier(configFor(issuer), [AUD], { now: () => now, cacheSize: 1 });
    const connection = {};
    const token = await issuer.mint({ audience: AUD, scopes: ['jobs:read'], subject: 'agent-a', ttlSeconds: 3600 });
    await expect(v.verify(token, connection)).resolves.toMatchObject({ subject: 'agent-a' });
    // Another token on the same connection is checked as itself, and then becomes the remembered one.
    const other = await issuer.mint({ audience: AUD, scopes: ['jobs:read', 'jobs:cancel'], subject: 'agent-b' });
    await expect(v.verify(other, connection)).resolves.toMatchObject({ subject: 'agent-b' });
    const [h, , sig] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'agent-b', aud: AUD, iss: issuer.issuer, exp: Math.floor(now / 1000) + 60, scope: 'jobs:cancel' })).toString('base64url')}.${sig}`;
    expect((await refusal(v.verify(forged, connection)))?.reason).toBe('bad_signature');
    await expect(v.verify(token, connection)).resolves.toMatchObject({ subject: 'agent-a' });
    // With the key withdrawn (and the token gone from the shared cache), it passes on its connection only...
    await issuer.rotate({ keepOld: false });
    pass(1100);
    await v.verify(await issuer.mint({ audience: AUD, scopes: ['jobs:read'] }));
    await expect(v.verify(token, connection)).resolves.toMatchObject({ subject: 'agent-a' });
    expect((await refusal(v.verify(token, {})))?.reason).toBe('unknown_key');
    // ...and only for the same bounded time as the shared cache.
    now += 301_000;
    expect((await refusal(v.verify(token, connection)))?.reason).toBe('unknown_key');
  });

  it('answers 503 (not 401) when the JWKS endpoint is down and no keys were ever fetched', async () => {
    issuer = await startSandboxIssuer();
    const v = createTokenVerifier(configFor(issuer), [AUD]);
    issuer.server.setFault({ kind: 'status', status: 502 });
    const failure = await refusal(v.verify(await issuer.mint({ audience: AUD, scopes: ['jobs:read'] })));
    expect(failure).toBeInstanceOf(AuthFailure);
    expect(failure).toMatchObject({ reason: 'keys_unavailable', status: 503 });
  });

  it('gives up on a hanging JWKS endpoint after jwks_timeout_ms', async () => {
    issuer = await startSandboxIssuer();
    const v = createTokenVerifier(configFor(issuer, { jwks_timeout_ms: 200 }), [AUD]);
    issuer.server.setFault({ kind: 'hang' });
    expect(await refusal(v.verify(await issuer.mint({ audience: AUD, scopes: ['jobs:read'] })))).toMatchObject({
      reason: 'keys_unavailable',
      status: 503,
    });
  });

  it('accepts any of several audiences and several issuers', async () => {
    issuer = await startSandboxIssuer();
    const second = await startSandboxIssuer();
    try {
      const config = oauthSchema.parse({
        mode: 'oauth',
        issuers: [
          { issuer: issuer.issuer, jwks_uri: issuer.jwksUri },
          { issuer: second.issuer, jwks_uri: second.jwksUri },
        ],
      });
      const v = createTokenVerifier(config, [AUD, 'api://jobs-gateway']);
      await v.verify(await issuer.mint({ audience: 'api://jobs-gateway', scopes: [] }));
      await v.verify(await second.mint({ audience: AUD, scopes: [] }));
      // A token from the second issuer that claims to come from the first does not verify.
      expect((await refusal(v.verify(await second.mint({ audience: AUD, scopes: [], claims: { iss: issuer.issuer } }))))?.reason).toBe(
        'unknown_key',
      );
    } finally {
      await second.close();
    }
  });
});
