// The gateway's own series, read back from the registry as Prometheus would scrape them.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';

const agents = { name: 'agents', kind: 'agent_jobs' };
const renders = { name: 'cloud-renders', kind: 'comfycontrol' };

describe('gateway metrics', () => {
  it('counts each tool call under its own labels, however calls with different labels interleave', async () => {
    const m = createMetrics({ processMetrics: false });
    const calls: [string, typeof agents | undefined, string][] = [
      ['get_job_status', agents, 'running'],
      ['get_job_status', agents, 'running'],
      ['get_job_status', agents, 'succeeded'],
      ['get_job_status', renders, 'running'],
      ['cancel_job', agents, 'cancelled'],
      ['get_job_status', agents, 'running'],
      ['get_job_status', undefined, 'UNKNOWN_PROJECT'],
      ['get_job_status', agents, 'succeeded'],
    ];
    for (const [tool, backend, outcome] of calls) m.toolCall(tool, backend, outcome, 0.01);
    const text = await m.registry.metrics();
    const count = (tool: string, kind: string, name: string, outcome: string) =>
      Number(
        new RegExp(
          `^mcp_job_gateway_tool_calls_total\\{tool="${tool}",backend_kind="${kind}",backend="${name}",outcome="${outcome}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1],
      );
    expect(count('get_job_status', 'agent_jobs', 'agents', 'running')).toBe(3);
    expect(count('get_job_status', 'agent_jobs', 'agents', 'succeeded')).toBe(2);
    expect(count('get_job_status', 'comfycontrol', 'cloud-renders', 'running')).toBe(1);
    expect(count('cancel_job', 'agent_jobs', 'agents', 'cancelled')).toBe(1);
    expect(count('get_job_status', 'none', 'none', 'UNKNOWN_PROJECT')).toBe(1);
    expect(text).toMatch(
      /^mcp_job_gateway_tool_call_duration_seconds_count\{tool="get_job_status",backend_kind="agent_jobs",backend="agents"\} 5$/m,
    );
  });
});
