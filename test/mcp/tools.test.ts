// The job tools as an agent sees them through the SDK client: definitions, argument errors,
// project routing, and the shape of results and tool errors.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('tool definitions and routing', () => {
  let t: TestGateway;
  let client: Client;
  beforeAll(async () => {
    t = await startTestGateway();
    client = await t.client();
  });
  afterAll(async () => t?.close());

  it('lists four tools with titles, descriptions, schemas and honest annotations', async () => {
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((x) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual(['cancel_job', 'get_job_status', 'list_jobs', 'list_projects']);
    const projects = byName.list_projects!;
    expect(projects.annotations).toMatchObject({ readOnlyHint: true });
    expect(projects.inputSchema).toMatchObject({ type: 'object', properties: {}, additionalProperties: false });
    const list = byName.list_jobs!;
    expect(list.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    expect(list.inputSchema).toMatchObject({ type: 'object', required: ['project_reference'], additionalProperties: false });
    expect(Object.keys((list.inputSchema as { properties: object }).properties).sort()).toEqual([
      'cursor',
      'limit',
      'project_reference',
      'status',
    ]);
    // What a model needs to page correctly and to read a partial answer.
    expect(list.description).toMatch(/newest first/);
    expect(list.description).toMatch(/next_cursor/);
    expect(list.description).toMatch(/unavailable_hosts/);
    const status = byName.get_job_status!;
    expect(status.title).toBe('Get job status');
    expect(status.description).toMatch(/read-only/i);
    expect(status.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    expect(status.inputSchema).toMatchObject({ type: 'object', required: ['project_reference', 'job_id'], additionalProperties: false });
    expect(status.outputSchema?.type).toBe('object');
    const cancel = byName.cancel_job!;
    expect(cancel.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true });
    expect(cancel.description).toMatch(/cancel_requested/);
    expect(Object.keys((cancel.inputSchema as { properties: object }).properties).sort()).toEqual([
      'job_id',
      'project_reference',
      'reason',
      'wait_seconds',
    ]);
    // What a model needs to use waits rather than poll in a loop.
    expect(Object.keys((status.inputSchema as { properties: object }).properties).sort()).toEqual([
      'job_id',
      'known_status',
      'project_reference',
      'wait_seconds',
    ]);
    expect(status.description).toMatch(/wait_seconds.*known_status.*instead of polling/);
    expect(cancel.description).toMatch(/wait_seconds/);
    // Cancelling an MCP task never cancels its job: both tools say so (docs/tasks.md).
    expect(status.description).toMatch(/tasks\/cancel ends the task, never the job/);
    expect(cancel.description).toMatch(/tasks\/cancel ends an MCP task, never its job/);
    // The gateway's own maximums for the longest wait: in the call (waits.max_seconds) and as an
    // MCP task (waits.task_max_seconds), in its words, the larger as the schema's bound; no other
    // number of seconds in any description.
    const { max_seconds: max, task_max_seconds: taskMax } = t.sandbox.config.waits;
    for (const tool of [status, cancel]) {
      const wait = (tool.inputSchema as { properties: Record<string, { maximum?: number; description?: string }> }).properties
        .wait_seconds!;
      expect(wait.maximum).toBe(taskMax);
      expect(wait.description).toContain(`at most ${max}, or ${taskMax} as an MCP task`);
    }
    for (const tool of tools) expect(tool.description).not.toMatch(/\b(60|600)\b/);
  });

  it('keeps what the tools cost a model small: descriptions and input schemas within 4,500 characters (~1,100 tokens)', async () => {
    const { tools } = await client.listTools();
    const size = tools.reduce((n, x) => n + (x.description ?? '').length + JSON.stringify(x.inputSchema).length, 0);
    // 5,681 characters for three tools before list_projects came; it must not grow back.
    expect(size).toBeLessThanOrEqual(4500);
  });

  it('returns structuredContent and the same JSON as text', async () => {
    const r = await t.call(client, 'get_job_status', { project_reference: 'agents', job_id: seed(t, 'agents', 'succeeded') });
    expect(r.isError).toBeFalsy();
    expect(JSON.parse((r.content[0] as { text: string }).text)).toEqual(r.structuredContent);
    expect(r.structuredContent).toMatchObject({
      project_reference: 'agents',
      backend: { name: 'agents', kind: 'agent_jobs' },
      status: 'succeeded',
      terminal: true,
      found: true,
    });
  });

  it('resolves an alias and answers with the canonical reference', async () => {
    const id = seed(t, 'studio-a', 'succeeded');
    for (const name of ['studio', '7d3f0c1e-5b2a-4c1e-9f00-00000000a001']) {
      const r = await t.call(client, 'get_job_status', { project_reference: name, job_id: id });
      expect(r.structuredContent).toMatchObject({ project_reference: 'studio-a', status: 'succeeded' });
    }
  });

  it('answers an unknown project with UNKNOWN_PROJECT and names no other project', async () => {
    const r = await t.call(client, 'get_job_status', { project_reference: 'studio-b', job_id: seed(t, 'studio-a', 'queued') });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ error: { code: 'UNKNOWN_PROJECT' } });
    const text = JSON.stringify(r);
    for (const other of ['studio-a', 'agents', 'site-x', 'cloud-renders']) expect(text).not.toContain(other);
  });

  it('answers malformed arguments with INVALID_ARGUMENT that says what is wrong', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ project_reference: 'agents' }, /job_id/],
      [{ project_reference: 'agents', job_id: 42 }, /job_id/],
      [{ project_reference: 'agents', job_id: 'x'.repeat(10_000) }, /job_id/],
      [{ project_reference: 'agents', job_id: 'a', jobId: 'b' }, /jobId/],
      [{ project_reference: '', job_id: 'a' }, /project_reference/],
    ];
    for (const [args, mentions] of cases) {
      const r = await t.call(client, 'get_job_status', args);
      expect(r.isError).toBe(true);
      expect(r.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
      expect((r.structuredContent as { error: { message: string } }).error.message).toMatch(mentions);
    }
  });

  // Any string an older ComfyUI took as a client-chosen prompt_id is a possible ComfyUI job id; the
  // other backends' ids are UUIDs or slugs. What no backend could hold is refused everywhere.
  const urlBending = ['../x', '..%2F..%2Fadmin', '%2F', 'a/b', '?x=1', '#frag', ' '];
  const impossible = ['.', '..', 'x'.repeat(257), '\u0000', 'ok\r\nX-Injected: 1'];

  it('refuses hostile job ids before any backend hears of them', async () => {
    const before = t.sandbox.simulations.map((s) => s.server.requests.length);
    for (const project of ['studio-a', 'agents', 'site-x', 'cloud-renders']) {
      for (const id of project === 'studio-a' ? impossible : [...urlBending, ...impossible]) {
        for (const tool of ['get_job_status', 'cancel_job']) {
          const r = await t.call(client, tool, { project_reference: project, job_id: id });
          expect(r.isError, `${tool} ${project} ${JSON.stringify(id)}`).toBe(true);
          expect(r.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
        }
      }
    }
    expect(t.sandbox.simulations.map((s) => s.server.requests.length)).toEqual(before);
  });

  it('sends an id only an older ComfyUI could hold as one encoded path segment of a read, and nothing else', async () => {
    const comfy = t.sandbox.simulations.filter((s) => s.kind === 'comfyui' || s.kind === 'comfyui_legacy');
    const before = comfy.map((s) => s.server.requests.length);
    for (const id of urlBending) {
      const r = await t.call(client, 'get_job_status', { project_reference: 'studio-a', job_id: id });
      expect(r.structuredContent, JSON.stringify(id)).toMatchObject({ found: false, status: 'unknown' });
    }
    const sent = comfy.flatMap((s, i) => s.server.requests.slice(before[i]));
    const segments = new Set(urlBending.map((id) => encodeURIComponent(id)));
    for (const req of sent) {
      expect(req.method).toBe('GET');
      // A read route with the id as its last segment, or a whole-queue read: never another route.
      const m = /^\/(?:api\/jobs|history)\/([^/]+)$/.exec(req.path);
      if (m) expect(segments.has(m[1]!), req.path).toBe(true);
      else expect(['/queue', '/api/jobs', '/system_stats', '/object_info', '/api/features', '/features'], req.path).toContain(req.path);
    }
    expect(sent.some((r) => r.path === `/history/${encodeURIComponent('../x')}`)).toBe(true);
  });
});

describe('a job polled again and again', () => {
  let t: TestGateway;
  let client: Client;
  beforeAll(async () => {
    t = await startTestGateway();
    client = await t.client();
  });
  afterAll(async () => t?.close());

  // The adapters reuse what they made of a job's last answer when the next is the same text; a
  // change in the job must show on the very next read, with the answer's text and structure agreeing.
  for (const project of ['agents', 'site-x', 'cloud-renders']) {
    it(`${project}: answers an unchanged job the same way each time, and a change on the next read`, async () => {
      const id = seed(t, project, 'queued');
      const read = () => t.call(client, 'get_job_status', { project_reference: project, job_id: id });
      const first = await read();
      expect(first.structuredContent).toMatchObject({ project_reference: project, job_id: id, status: 'queued', terminal: false });
      for (let i = 0; i < 3; i++) {
        const again = await read();
        expect(again.structuredContent).toEqual(first.structuredContent);
        expect(JSON.parse((again.content[0] as { text: string }).text)).toEqual(first.structuredContent);
      }
      const cancel = await t.call(client, 'cancel_job', { project_reference: project, job_id: id });
      expect(cancel.isError).toBeFalsy();
      t.clock.advance(60_000); // an asynchronous cancel (ComfyControl) takes a few seconds
      const after = await read();
      expect(after.structuredContent).toMatchObject({ project_reference: project, job_id: id, status: 'cancelled', terminal: true });
      expect(JSON.parse((after.content[0] as { text: string }).text)).toEqual(after.structuredContent);
    });
  }
});
