// A backend failure through the whole gateway: the caller's error carries the request id and no
// backend words; the log has one warning under the same request id with the redacted words.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import type { Simulation } from '../../src/simulation/simulation.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('backend failures in the log', () => {
  let t: TestGateway;
  let out = '';
  const lines = () =>
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    const sink = new Writable({ write: (c, _e, cb) => ((out += c), cb()) });
    t = await startTestGateway({ deps: { logger: createLogger({ level: 'info', destination: sink }) } });
  });
  afterAll(async () => t?.close());

  it("ties the caller's error to one warn line by request id, and neither holds the key", async () => {
    const agents = t.sandbox.simulations.find((s) => s.kind === 'agent_jobs') as Simulation;
    agents.server.setFault({ kind: 'status', status: 401, body: 'invalid credential: Bearer sandbox-agent-jobs-key' });
    try {
      const client = await t.client();
      const r = await t.call(client, 'get_job_status', {
        project_reference: 'agents',
        job_id: t.sandbox.seedsByProject.get('agents')!.running[0]!,
      });
      const error = (r.structuredContent as { error: { code: string; message: string; request_id: string } }).error;
      expect(r.isError).toBe(true);
      expect(error.code).toBe('BACKEND_AUTH');
      expect(error.request_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(error.message).toMatch(
        new RegExp(`^Backend "agents" rejected the gateway's credentials \\(HTTP 401\\).* Request id: ${error.request_id}\\.$`),
      );
      expect(JSON.stringify(r)).not.toContain('sandbox-agent-jobs-key');
      expect(JSON.stringify(r)).not.toContain('invalid credential');

      const warn = lines().filter((l) => l.event === 'backend_error' && l.request_id === error.request_id);
      expect(warn).toHaveLength(1);
      expect(warn[0]).toMatchObject({
        level: 'warn',
        tool: 'get_job_status',
        backend: 'agents',
        backend_kind: 'agent_jobs',
        code: 'BACKEND_AUTH',
        http_status: 401,
        detail: 'invalid credential: [redacted]',
      });
      expect(lines().find((l) => l.event === 'tool_call' && l.request_id === error.request_id)).toMatchObject({ outcome: 'BACKEND_AUTH' });
      expect(out).not.toContain('sandbox-agent-jobs-key');
      expect(out).not.toContain(t.token!);
    } finally {
      agents.server.setFault(null);
    }
  });
});
