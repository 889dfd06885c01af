// The tools through OpenAI's Agents SDK in strict mode (PyPI `openai-agents`, pinned in
// scripts/tools/install.ts), the framework the issue names: its own MCP client lists the tools, its
// own converter makes each input schema strict (every property required), and each call goes through
// the FunctionTool it made, with the properties the model had no value for filled as a strict-mode
// model must: an empty cursor, no statuses, a zero wait (test/e2e/python/strict_agents_client.py).
// Every tool must convert to strict (the SDK silently falls back to a loose schema otherwise) and
// answer such a call as it answers the plain one.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ensurePythonAgents, REPO_ROOT } from '../../scripts/tools/install.ts';

const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'python', 'strict_agents_client.py');

interface Report {
  tools: Record<string, { strict: boolean; schema: { required: string[]; properties: Record<string, unknown> } }>;
  calls: { tool: string; arguments: Record<string, unknown>; output: string }[];
}

describe("OpenAI's Agents SDK in strict mode", () => {
  let t: TestGateway;
  let python: string;
  beforeAll(async () => {
    python = await ensurePythonAgents(); // cold: python3 -m venv + pip install, ~20 s here
    t = await startTestGateway();
  }, 300_000);
  afterAll(async () => t?.close());

  it('converts every tool to a strict schema and answers calls made with it', async () => {
    const running = seed(t, 'agents', 'running');
    const queued = seed(t, 'site-x', 'queued');
    const plan = [
      { tool: 'list_projects', arguments: {} },
      { tool: 'get_job_status', arguments: { project_reference: 'agents', job_id: running } },
      { tool: 'list_jobs', arguments: { project_reference: 'agents' } },
      { tool: 'cancel_job', arguments: { project_reference: 'site-x', job_id: queued } },
    ];
    const { stdout } = await promisify(execFile)(python, [SCRIPT, t.mcpUrl, t.token!, JSON.stringify(plan)], {
      cwd: join(REPO_ROOT, 'test', 'e2e', 'python'),
      timeout: 120_000,
    });
    const report = JSON.parse(stdout) as Report;
    for (const [name, tool] of Object.entries(report.tools)) {
      expect(tool.strict, `${name} converts to a strict schema`).toBe(true);
      expect(tool.schema.required.sort()).toEqual(Object.keys(tool.schema.properties).sort());
    }
    const byTool = Object.fromEntries(report.calls.map((c) => [c.tool, c]));
    // What the strict schema made the model send besides its own values.
    expect(byTool.list_jobs!.arguments).toMatchObject({ cursor: '', status: [], limit: 1 });
    expect(byTool.get_job_status!.arguments).toMatchObject({ wait_seconds: 0 });
    const answer = (tool: string) => JSON.parse(byTool[tool]!.output) as Record<string, unknown>;
    expect(answer('list_projects')).toMatchObject({
      projects: expect.arrayContaining([expect.objectContaining({ project_reference: 'agents' })]),
    });
    expect(answer('get_job_status')).toMatchObject({ project_reference: 'agents', job_id: running, status: 'running' });
    expect(answer('list_jobs')).toMatchObject({
      project_reference: 'agents',
      jobs: [expect.objectContaining({ job_id: expect.any(String) })],
    });
    expect(answer('list_jobs').next_cursor).toEqual(expect.any(String));
    expect(answer('cancel_job')).toMatchObject({ job_id: queued, outcome: 'cancelled' });
  }, 180_000);
});
