// An agent finds its projects without a human: list_projects names the projects this caller may use
// (reference, aliases, backend, the operator's description) and never another's; UNKNOWN_PROJECT
// points to it. And what strict-schema frameworks send works: null for an optional argument is the
// argument left out, an empty cursor is the first page; tools/list states the gateway's own wait maximum.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

type Listed = {
  projects: { project_reference: string; aliases: string[]; backend: { name: string; kind: string }; description?: string }[];
};

// One gateway for both parts, with a wait maximum other than the default.
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ configure: (c) => ({ ...c, waits: { ...c.waits, max_seconds: 45 } }) });
});
afterAll(async () => t?.close());

describe('list_projects', () => {
  it('lists every project for a caller who may use all, with aliases, backend and description, in the config order', async () => {
    const r = await t.call(await t.client(), 'list_projects', {});
    expect(r.isError).toBeFalsy();
    expect(JSON.parse((r.content[0] as { text: string }).text)).toEqual(r.structuredContent);
    const { projects } = r.structuredContent as Listed;
    expect(projects.map((p) => p.project_reference)).toEqual([
      'studio-a',
      'agents',
      'site-x',
      'cloud-renders',
      'predictions',
      'flux',
      'gpu-workers',
    ]);
    expect(projects[0]).toEqual({
      project_reference: 'studio-a',
      aliases: ['7d3f0c1e-5b2a-4c1e-9f00-00000000a001', 'studio'],
      backend: { name: 'studio-a', kind: 'comfyui' },
      description: 'Image generation on three ComfyUI GPU hosts (simulated).',
    });
    expect(projects.map((p) => p.backend.kind)).toEqual([
      'comfyui',
      'agent_jobs',
      'project_runtime',
      'comfycontrol',
      'http_jobs',
      'http_jobs',
      'http_jobs',
    ]);
  });

  it('lists only the projects a caller may use, and nothing of the others', async () => {
    const token = await t.mint({ projects: ['studio', 'site-x'] }); // an alias names its project
    const client = await t.client({ token });
    const r = await t.call(client, 'list_projects', {});
    const { projects } = r.structuredContent as Listed;
    expect(projects.map((p) => p.project_reference)).toEqual(['studio-a', 'site-x']);
    const text = JSON.stringify(r);
    for (const other of ['agents', 'cloud-renders', 'agent_jobs', 'comfycontrol']) expect(text).not.toContain(other);
    // What it lists is what the caller may use: each listed project answers, another is unknown.
    const unknown = await t.call(client, 'get_job_status', { project_reference: 'agents', job_id: seed(t, 'agents', 'queued') });
    expect(unknown.structuredContent).toMatchObject({ error: { code: 'UNKNOWN_PROJECT' } });
    expect((unknown.structuredContent as { error: { message: string } }).error.message).toContain('list_projects');
    const known = await t.call(client, 'get_job_status', { project_reference: 'site-x', job_id: seed(t, 'site-x', 'queued') });
    expect(known.isError).toBeFalsy();
  });

  it('takes no arguments: null or an empty object alike, anything else is INVALID_ARGUMENT', async () => {
    const client = await t.client();
    const bare = await t.call(client, 'list_projects', {});
    const nulls = await t.call(client, 'list_projects', { project_reference: null });
    expect(nulls.structuredContent).toEqual(bare.structuredContent);
    const extra = await t.call(client, 'list_projects', { project_reference: 'agents' });
    expect(extra.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
  });
});

describe('what strict-schema frameworks send', () => {
  it('states the gateway’s own wait maximums (waits.max_seconds in the call, task_max_seconds as a task) in the words of wait_seconds, the larger as its bound', async () => {
    const { tools } = await (await t.client()).listTools();
    for (const name of ['get_job_status', 'cancel_job']) {
      const wait = (
        tools.find((x) => x.name === name)!.inputSchema as { properties: Record<string, { maximum: number; description: string }> }
      ).properties.wait_seconds!;
      expect(wait.maximum).toBe(86_400);
      expect(wait.description).toContain('at most 45, or 86400 as an MCP task');
    }
  });

  it('answers every tool the same with its optional arguments as null as without them', async () => {
    const client = await t.client();
    const running = seed(t, 'agents', 'running');
    const queued = seed(t, 'site-x', 'queued');
    const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['get_job_status', { project_reference: 'agents', job_id: running }, { wait_seconds: null, known_status: null }],
      ['list_jobs', { project_reference: 'agents' }, { status: null, limit: null, cursor: null }],
      ['cancel_job', { project_reference: 'site-x', job_id: queued }, { reason: null, wait_seconds: null }],
    ];
    for (const [tool, args, nulls] of pairs) {
      const withNulls = await t.call(client, tool, { ...args, ...nulls });
      expect(withNulls.isError, `${tool} with nulls: ${JSON.stringify(withNulls.structuredContent)}`).toBeFalsy();
      if (tool === 'cancel_job') {
        // A second cancel of the same job: safe to repeat, the same as without the nulls.
        expect(withNulls.structuredContent).toMatchObject({ outcome: 'cancelled' });
        expect((await t.call(client, tool, args)).structuredContent).toMatchObject({ outcome: 'already_terminal' });
      } else {
        expect(withNulls.structuredContent).toEqual((await t.call(client, tool, args)).structuredContent);
      }
    }
  });

  it('reads an empty cursor as the first page, and still refuses null for a required argument', async () => {
    const client = await t.client();
    const first = await t.call(client, 'list_jobs', { project_reference: 'agents', limit: 2 });
    const empty = await t.call(client, 'list_jobs', { project_reference: 'agents', limit: 2, cursor: '' });
    expect(empty.isError).toBeFalsy();
    expect(empty.structuredContent).toEqual(first.structuredContent);
    const missing = await t.call(client, 'get_job_status', { project_reference: null, job_id: 'x' });
    expect(missing.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect((missing.structuredContent as { error: { message: string } }).error.message).toMatch(/project_reference/);
  });
});
