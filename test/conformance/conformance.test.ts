// Runs the official MCP conformance suite (server scenarios, active suite) against a live gateway
// on the sandbox, with the expected-failures baseline: any unexpected failure, or a listed scenario
// that starts passing, fails this test.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { conformanceFixtures } from './fixtures.ts';

const require = createRequire(import.meta.url);
const CLI = join(require.resolve('@modelcontextprotocol/conformance/package.json'), '..', 'dist', 'index.js');

function runSuite(url: string): Promise<{ code: number; output: string }> {
  const out = mkdtempSync(join(tmpdir(), 'conformance-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath, // the suite needs Node >= 22, which the tests run on
      [CLI, 'server', '--url', url, '--expected-failures', 'test/conformance/expected-failures.yml', '-o', out],
      { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` }),
    );
  });
}

describe('official MCP conformance suite', () => {
  let t: TestGateway;
  beforeAll(async () => {
    // The suite sends no Authorization header and needs a localhost URL (DNS-rebinding scenario).
    t = await startTestGateway({ authOff: true, deps: { extraTools: conformanceFixtures } });
  });
  afterAll(async () => t?.close());

  it('passes every scenario that applies to a two-tool gateway', { timeout: 300_000 }, async () => {
    const url = t.mcpUrl.replace('127.0.0.1', 'localhost');
    const { code, output } = await runSuite(url);
    if (code !== 0) console.log(output);
    expect(output).toMatch(/Baseline check passed|all failures are expected/i);
    for (const scenario of ['server-initialize', 'ping', 'tools-list', 'tools-call-simple-text', 'tools-call-error', 'server-sse-multiple-streams', 'dns-rebinding-protection']) {
      expect(output, scenario).toMatch(new RegExp(`✓ ${scenario}: \\d+ passed, 0 failed`));
    }
    expect(code).toBe(0);
  });
});
