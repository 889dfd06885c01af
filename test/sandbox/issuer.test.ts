// Where the sandbox issuer's authorization server (src/sandbox/oauth/, on oidc-provider, a
// devDependency) may run: only in the sandbox. A gateway on a production config never loads its code
// (checked on the modules Node really loads), and a sandbox started from a production install
// (`npm ci --omit=dev`, no oidc-provider) still starts, with the mint-only issuer, its printed
// tokens, and one line saying how to get the full server.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MISSING_AUTHORIZATION_SERVER_NOTE } from '../../src/sandbox/issuer.ts';
import { startSandboxProcess } from '../helpers/sandbox-process.ts';

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

/** Starts `node [args] src/main.ts …` in `cwd` and resolves with stdout once `ready` matches it. */
function start(cwd: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', () => ready.test(out) && resolve({ child, out }));
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('the sandbox authorization server stays out of production', () => {
  it('is never loaded by a gateway on a production config, though oidc-provider is installed here', { timeout: 60_000 }, async () => {
    const dir = tempDir('prod-config-');
    const log = join(dir, 'loaded.txt');
    // Records every module Node loads, by URL.
    const hook = join(dir, 'record-loads.mjs');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); } });
`,
    );
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'server: { host: 127.0.0.1, port: 0 }',
        'admin: { host: 127.0.0.1, port: 0 }',
        'auth: { mode: oauth, issuers: [{ issuer: "https://login.example.com", jwks_uri: "https://login.example.com/jwks.json" }] }',
        'projects:',
        '  - reference: agents',
        '    backend: { kind: agent_jobs, base_url: "http://127.0.0.1:9/api/v0", api_key: "key" }',
      ].join('\n'),
    );
    const { child } = await start(process.cwd(), ['--import', hook, 'src/main.ts', '--config', config], {}, /MCP endpoint: http:\/\/\S+/);
    await stop(child);
    const loaded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    expect(loaded.some((u) => u.endsWith('/src/gateway.ts'))).toBe(true); // the hook saw the gateway load
    expect(
      loaded.filter(
        (u) => u.includes('/src/sandbox/oauth/') || u.includes('/node_modules/oidc-provider/') || u.includes('/node_modules/koa/'),
      ),
    ).toEqual([]);
  });

  it(
    'a sandbox from a production install falls back to the mint-only issuer, says how to get the full one, and its printed tokens work',
    { timeout: 300_000 },
    async () => {
      const app = tempDir('prod-install-');
      for (const f of ['package.json', 'package-lock.json']) cpSync(f, join(app, f));
      for (const d of ['src', 'config']) cpSync(d, join(app, d), { recursive: true });
      execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: app,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, npm_config_update_notifier: 'false' },
      });
      expect(existsSync(join(app, 'node_modules', 'oidc-provider'))).toBe(false);

      // The shipped sandbox config, its fixed ports moved to free ones, run from the production install.
      const sandbox = await startSandboxProcess({}, { cwd: app });
      try {
        const { out, issuerUrl: issuer } = sandbox;
        expect(out).toContain(`  ${MISSING_AUTHORIZATION_SERVER_NOTE}\n`);
        expect(out).not.toContain('sign in by themselves');
        const metadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
        expect(metadata).toEqual({ issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ['ES256'] });

        const res = await fetch(`http://127.0.0.1:${sandbox.port}/mcp`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${sandbox.token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
          }),
        });
        expect(res.status).toBe(200);
      } finally {
        await sandbox.stop();
      }
    },
  );
});
