// The metrics as Prometheus sees them: `promtool check metrics` has nothing to say about the live
// output, and a real Prometheus server (loopback only) scraping the admin port returns the counts of
// the calls the gateway served.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePromtool } from '../../scripts/tools/install.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../../scripts/tools/ports.ts';

function runWithStdin(cmd: string, args: string[], input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

describe('metrics seen by Prometheus', () => {
  let t: TestGateway;
  let promtool: string;
  let prometheus: ChildProcess | undefined;

  beforeAll(async () => {
    promtool = await ensurePromtool(); // installs Debian's prometheus package when missing
    t = await startTestGateway();
    const client = await t.client();
    const seeds = t.sandbox.seedsByProject.get('site-x')!;
    for (let i = 0; i < 3; i++)
      await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'site-x', job_id: seeds.succeeded[0]! } });
    await client.callTool({ name: 'cancel_job', arguments: { project_reference: 'site-x', job_id: seeds.succeeded[0]! } });
  }, 600_000);
  afterAll(async () => {
    prometheus?.kill('SIGKILL');
    await t?.close();
  });

  it('passes promtool check metrics without a single remark', async () => {
    const text = await (await fetch(`${t.adminUrl}/metrics`)).text();
    const { code, output } = await runWithStdin(promtool, ['check', 'metrics'], text);
    expect(output.trim()).toBe('');
    expect(code).toBe(0);
  });

  it("is scraped by a real Prometheus, which answers queries with the gateway's counts", { timeout: 120_000 }, async () => {
    const server = join(dirname(promtool), 'prometheus'); // same Debian package as promtool
    expect(existsSync(server), `${server} (Debian package prometheus)`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    const admin = new URL(t.adminUrl);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: mcp-job-gateway\n    static_configs:\n      - targets: ['${admin.host}']\n`,
    );
    const port = await freePort();
    prometheus = spawn(
      server,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const query = async (q: string): Promise<number | undefined> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
      if (!res?.ok) return undefined;
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      const v = body.data.result[0]?.value[1];
      return v === undefined ? undefined : Number(v);
    };
    await expect.poll(() => query('up{job="mcp-job-gateway"}'), { timeout: 60_000, interval: 500 }).toBe(1);
    await expect
      .poll(() => query('sum(mcp_job_gateway_tool_calls_total{tool="get_job_status",backend="site-x",outcome="succeeded"})'), {
        timeout: 30_000,
        interval: 500,
      })
      .toBe(3);
    expect(await query('sum(mcp_job_gateway_tool_calls_total{tool="cancel_job",backend="site-x",outcome="already_terminal"})')).toBe(1);
    expect(await query('sum(mcp_job_gateway_backend_requests_total{backend="site-x",status_class="2xx"})')).toBeGreaterThanOrEqual(4);
  });
});
