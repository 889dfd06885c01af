// Which projects a caller may touch: the projects claim (references, aliases or "*") and per-project
// grants in config. A project the caller may not touch answers exactly like one that does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('per-project access', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({
      configure: (c) => ({
        ...c,
        projects: c.projects.map((p) => (p.reference === 'site-x' ? { ...p, access: { subjects: ['ops-oncall'], clients: ['release-bot'] } } : p)),
      }),
    });
  });
  afterAll(async () => t?.close());

  const status = async (token: string, project: string) => {
    const client = await t.client({ token });
    const id = t.sandbox.seedsByProject.get(project === 'studio' ? 'studio-a' : project)!.succeeded[0]!;
    return (await client.callTool({ name: 'get_job_status', arguments: { project_reference: project, job_id: id } })).structuredContent as {
      status?: string;
      error?: { code: string; message: string };
    };
  };

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
    const missing = (await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'no-such-project', job_id: 'x' } })).structuredContent as { error: { message: string } };
    expect(denied.error!.message.replace('cloud-renders', 'P')).toBe(missing.error.message.replace('no-such-project', 'P'));
  });

  it('gives nothing to a token without a projects claim, except where config grants its subject or client', async () => {
    const plain = await t.mint({ claims: { projects: undefined } });
    expect((await status(plain, 'agents')).error?.code).toBe('UNKNOWN_PROJECT');
    expect((await status(plain, 'site-x')).error?.code).toBe('UNKNOWN_PROJECT');
    expect((await status(await t.mint({ subject: 'ops-oncall', claims: { projects: undefined } }), 'site-x')).status).toBe('succeeded');
    expect((await status(await t.mint({ clientId: 'release-bot', claims: { projects: undefined } }), 'site-x')).status).toBe('succeeded');
    expect((await status(await t.mint({ clientId: 'release-bot', claims: { projects: undefined } }), 'agents')).error?.code).toBe('UNKNOWN_PROJECT');
  });

  it('opens every project to a "*" claim', async () => {
    const token = await t.mint({ projects: ['*'] });
    for (const p of ['studio-a', 'agents', 'site-x', 'cloud-renders']) expect((await status(token, p)).status).toBe('succeeded');
  });
});
