// The official MCP Python SDK's OAuth client (mcp.client.auth.OAuthClientProvider, PyPI `mcp`
// pinned in scripts/tools/install.ts) against the sandbox as `npm start` runs it: from no token at all to
// get_job_status, and through the 403 step-up to cancel_job, with the SDK's own discovery,
// registration, PKCE, resource indicator and token exchange. The script
// (test/e2e/python/oauth_client.py) plays only the browser; it prints one JSON report, asserted on here.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ensurePythonMcp, REPO_ROOT } from '../../scripts/tools/install.ts';
import { expectMatchesOutputSchema, isJobToolName } from '../helpers/result-schemas.ts';

const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'python', 'oauth_client.py');

type Step =
  | { ok: true; result: { structuredContent: Record<string, unknown>; isError: boolean | null } }
  | { ok: false; error: { type: string; message: string } };
interface Report {
  steps: Partial<Record<'get_job_status' | 'cancel_job', Step>>;
  http: { method: string; url: string; status: number }[];
  authorization_urls: string[];
  pages: string[];
  tokens: { access_token: string; scope: string | null; has_refresh_token: boolean }[];
  client_id?: string;
  connect_error?: { type: string; message: string };
}

describe("the MCP Python SDK's OAuth client provider", () => {
  let t: TestGateway;
  let report: Report;
  let running: string;
  let queued: string;

  beforeAll(async () => {
    const python = await ensurePythonMcp(); // cold: python3 -m venv + pip install, ~15 s here
    t = await startTestGateway();
    running = seed(t, 'agents', 'running');
    queued = seed(t, 'agents', 'queued');
    const { stdout } = await promisify(execFile)(python, [SCRIPT, t.mcpUrl, 'agents', running, queued], { timeout: 120_000 });
    report = JSON.parse(stdout) as Report;
  }, 300_000);
  afterAll(async () => t?.close());

  const result = (step: keyof Report['steps']) => {
    const s = report.steps[step];
    if (!s?.ok) throw new Error(`${step} failed: ${JSON.stringify(s?.error ?? report.connect_error)}`);
    return isJobToolName(step) ? expectMatchesOutputSchema(step, s.result) : s.result;
  };
  const issuer = () => t.sandbox.issuer!.issuer;

  it('starts from a bare 401, finds the authorization server through the gateway, registers and gets a token', () => {
    expect(report.connect_error).toBeUndefined();
    const origin = new URL(t.mcpUrl).origin;
    const calls = report.http.map((h) => `${h.method} ${h.url} ${h.status}`);
    expect(calls.slice(0, 5)).toEqual([
      `POST ${t.mcpUrl} 401`,
      `GET ${origin}/.well-known/oauth-protected-resource/mcp 200`,
      `GET ${issuer()}/.well-known/oauth-authorization-server 200`,
      `POST ${issuer()}/register 201`,
      `POST ${issuer()}/token 200`,
    ]);
    const first = new URL(report.authorization_urls[0]!);
    expect(first.origin + first.pathname).toBe(`${issuer()}/authorize`);
    expect(Object.fromEntries(first.searchParams)).toMatchObject({
      client_id: report.client_id,
      resource: t.mcpUrl,
      code_challenge_method: 'S256',
    });
    expect(first.searchParams.get('scope')?.split(' ')).toContain('jobs:read');
    expect(first.searchParams.get('scope')?.split(' ')).not.toContain('jobs:cancel');
    // The browser only ever followed redirects: no page to fill in.
    expect(report.pages).toEqual([]);

    expect(report.tokens[0]!.has_refresh_token).toBe(true);
    expect(decodeJwt(report.tokens[0]!.access_token)).toMatchObject({
      iss: issuer(),
      aud: t.mcpUrl,
      sub: 'sandbox-user',
      scope: 'jobs:read',
      client_id: report.client_id,
      projects: ['*'],
    });
  });

  it('reads the job with that token', () => {
    expect(result('get_job_status')).toMatchObject({
      isError: false,
      structuredContent: { job_id: running, status: 'running', found: true },
    });
  });

  it('meets the 403 step-up on cancel_job, comes back for jobs:cancel with the same registration, and cancels', () => {
    const calls = report.http.map((h) => `${h.method} ${h.url} ${h.status}`);
    const refused = calls.indexOf(`POST ${t.mcpUrl} 403`);
    expect(refused).toBeGreaterThan(4);
    expect(calls.slice(refused + 1)).toEqual([`POST ${issuer()}/token 200`, `POST ${t.mcpUrl} 200`]);
    expect(calls.filter((c) => c.includes('/register'))).toHaveLength(1);

    expect(report.authorization_urls).toHaveLength(2);
    const second = new URL(report.authorization_urls[1]!);
    expect(second.searchParams.get('client_id')).toBe(report.client_id);
    expect(second.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['jobs:read', 'jobs:cancel']));
    expect(decodeJwt(report.tokens[1]!.access_token)).toMatchObject({ aud: t.mcpUrl, scope: 'jobs:read jobs:cancel', sub: 'sandbox-user' });

    expect(result('cancel_job')).toMatchObject({
      isError: false,
      structuredContent: { job_id: queued, outcome: 'cancelled', status_before: 'queued' },
    });
  });
});
