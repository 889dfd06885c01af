// What the Docker image does, reproduced without a Docker engine: the packed npm package installed
// cleanly with production dependencies only, started from its entry point, answering /readyz.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });

describe('production install (what the Docker image runs)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill('SIGKILL'));

  it(
    'installs the packed package without dev dependencies, starts from its entry point and becomes ready',
    { timeout: 300_000 },
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'pack-'));
      npm(['pack', '--pack-destination', work, '--silent'], process.cwd()); // runs the build (prepack)
      const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
      execFileSync('tar', ['-xzf', join(work, tgz), '-C', work]);
      const app = join(work, 'package');
      // The image's npm ci uses the repository's lock file beside the package, as the Dockerfile does.
      cpSync('package-lock.json', join(app, 'package-lock.json'));
      npm(['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], app);

      const installed = readdirSync(join(app, 'node_modules'));
      for (const dev of ['typescript', 'vitest', 'oidc-provider']) expect(installed).not.toContain(dev);
      // The SDK's v2 server line only; the 1.x SDK is a test dependency (its client).
      expect(readdirSync(join(app, 'node_modules', '@modelcontextprotocol')).sort()).toEqual(['core', 'node', 'server']);
      expect(readdirSync(app)).not.toContain('src'); // compiled JavaScript only
      expect(readdirSync(app)).not.toContain('test');

      // A production-shaped config: both listeners on free ports (read back from the start-up
      // output), the backend credential from the environment.
      const config = join(work, 'config.yaml');
      writeFileSync(
        config,
        [
          'server: { host: 127.0.0.1, port: 0 }',
          'admin: { host: 127.0.0.1, port: 0 }',
          'auth: { mode: none }',
          'projects:',
          '  - reference: agents',
          '    backend: { kind: agent_jobs, base_url: "http://127.0.0.1:9/api/v0", api_key: "${env:AICONNECT_API_KEY}" }',
        ].join('\n'),
      );
      child = spawn(process.execPath, ['dist/main.js', '--config', config], {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', AICONNECT_API_KEY: 'from-env' },
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const adminUrl = await new Promise<string>((resolve, reject) => {
        child!.stdout!.on('data', () => {
          const m = /admin:\s+(http:\/\/\S+)\/metrics/.exec(out);
          if (m) resolve(m[1]!);
        });
        child!.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      await expect
        .poll(async () => (await fetch(`${adminUrl}/readyz`).catch(() => undefined))?.status, { timeout: 30_000, interval: 250 })
        .toBe(200);
      const exited = new Promise<number | null>((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited, out).toBe(0);
    },
  );
});
