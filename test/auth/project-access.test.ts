// Which projects a caller may touch: the projects claim (references, aliases or "*") and per-project
// grants in config. A project the caller may not touch answers exactly like one that does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canAccess } from '../../src/auth/project-access.ts';
import type { Principal } from '../../src/auth/principal.ts';
import { startSandboxIssuer, type SandboxIssuer } from '../../src/sandbox/issuer.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('per-project access', () => {
  let t: TestGateway;
  // A second trusted issuer, whose users and clients are other people than the first one's.
  let second: SandboxIssuer;
  let first: string;
  beforeAll(async () => {
    second = await startSandboxIssuer();
    t = await startTestGateway({
      configure: (c) => {
        if (c.auth.mode !== 'oauth') throw new Error('the sandbox config has auth on');
        first = c.auth.issuers[0]!.issuer;
        const access = { subjects: [{ issuer: first, subject: 'ops-oncall' }], clients: [{ issuer: first, client: 'release-bot' }] };
        return {
          ...c,
          auth: { ...c.auth, issuers: [...c.auth.issuers, { issuer: second.issuer, jwks_uri: second.jwksUri }] },
          projects: c.projects.map((p) => (p.reference === 'site-x' ? { ...p, access } : p)),
        };
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await second?.close();
  });

  const status = async (token: string, project: string) => {
    const client = await t.client({ token });
    const id = t.sandbox.seedsByProject.get(project === 'studio' ? 'studio-a' : project)!.succeeded[0]!;
    return (await client.callTool({ name: 'get_job_status', arguments: { project_reference: project, job_id: id } })).structuredContent as {
      status?: string;
      error?: { code: string; message: string };
    };
  };
  const noClaim = { projects: undefined };

  it('lets a caller touch the projects its claim names, by reference or alias', async () => {
    const token = await t.mint({ projects: ['agents', 'studio'] });
    expect((await status(token, 'agents')).status).toBe('succeeded');
    expect((await status(token, 'studio')).status).toBe('succeeded');
    expect((await status(token, 'studio-a')).status).toBe('succeeded'); // the alias grants the project
  });

  it('answers a project outside the claim exactly like an unknown one', async () => {
    const token = await t.mint({ projects: ['agents'] });
    const denied = await status(token, 'cloud-renders');
    expect(denied.error?.code).toBe('UNKNOWN_PROJECT');
    const client = await t.client({ token });
    const missing = (await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'no-such-project', job_id: 'x' } }))
      .structuredContent as { error: { message: string } };
    expect(denied.error!.message.replace('cloud-renders', 'P')).toBe(missing.error.message.replace('no-such-project', 'P'));
  });

  it('gives nothing to a token without a projects claim, except where config grants its subject or client', async () => {
    const plain = await t.mint({ claims: noClaim });
    expect((await status(plain, 'agents')).error?.code).toBe('UNKNOWN_PROJECT');
    expect((await status(plain, 'site-x')).error?.code).toBe('UNKNOWN_PROJECT');
    expect((await status(await t.mint({ subject: 'ops-oncall', claims: noClaim }), 'site-x')).status).toBe('succeeded');
    expect((await status(await t.mint({ clientId: 'release-bot', claims: noClaim }), 'site-x')).status).toBe('succeeded');
    expect((await status(await t.mint({ clientId: 'release-bot', claims: noClaim }), 'agents')).error?.code).toBe('UNKNOWN_PROJECT');
  });

  it("does not let another issuer's subject or client of the same name in", async () => {
    const fromSecond = (o: { subject?: string; clientId?: string }) =>
      second.mint({ audience: t.mcpUrl, scopes: ['jobs:read'], ...o, claims: noClaim });
    // Both tokens are valid: the second issuer is trusted, just not for these grants.
    expect((await status(await second.mint({ audience: t.mcpUrl, scopes: ['jobs:read'] }), 'agents')).status).toBe('succeeded');
    expect((await status(await fromSecond({ subject: 'ops-oncall' }), 'site-x')).error?.code).toBe('UNKNOWN_PROJECT');
    expect((await status(await fromSecond({ clientId: 'release-bot' }), 'site-x')).error?.code).toBe('UNKNOWN_PROJECT');
  });

  it('matches a subject grant against `sub` only and a client grant against the client only', async () => {
    // A client-credentials token without `sub` whose client id happens to be a granted subject.
    expect((await status(await t.mint({ clientId: 'ops-oncall', claims: { ...noClaim, sub: undefined } }), 'site-x')).error?.code).toBe(
      'UNKNOWN_PROJECT',
    );
    // A user whose subject happens to be a granted client id.
    expect((await status(await t.mint({ subject: 'release-bot', claims: noClaim }), 'site-x')).error?.code).toBe('UNKNOWN_PROJECT');
  });

  it('opens every project to a "*" claim', async () => {
    const token = await t.mint({ projects: ['*'] });
    for (const p of ['studio-a', 'agents', 'site-x', 'cloud-renders']) expect((await status(token, p)).status).toBe('succeeded');
  });
});

describe('grants without an issuer (a config with exactly one issuer)', () => {
  const caller = (p: Partial<Principal>): Principal => ({
    issuer: 'https://idp.example',
    subject: undefined,
    clientId: undefined,
    scopes: new Set(),
    projects: undefined,
    expiresAt: 0,
    ...p,
  });
  const project = { reference: 'p', aliases: [], access: { subjects: ['ops-oncall'], clients: ['release-bot'] } };

  it('match the subject or the client of a token from that issuer', () => {
    expect(canAccess(caller({ subject: 'ops-oncall' }), project)).toBe(true);
    expect(canAccess(caller({ subject: 'someone', clientId: 'release-bot' }), project)).toBe(true);
    expect(canAccess(caller({ subject: 'someone', clientId: 'other' }), project)).toBe(false);
  });

  it('never match a client id against a subject grant, or a subject against a client grant', () => {
    expect(canAccess(caller({ clientId: 'ops-oncall' }), project)).toBe(false);
    expect(canAccess(caller({ subject: 'release-bot' }), project)).toBe(false);
  });
});
