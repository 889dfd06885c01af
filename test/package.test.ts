// What the Docker image does, reproduced without a Docker engine: the packed npm package installed
// cleanly with production dependencies only, started from its entry point, answering /readyz.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });

describe('production install (what the Docker image runs)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => child?.kill('SIGKILL'));

  it('installs the packed package without dev dependencies, starts from its entry point and becomes ready', { timeout: 300_000 }, async () => {
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
    expect(readdirSync(join(app, 'node_modules', '@modelcontextprotocol'))).toEqual(['sdk']);
    expect(readdirSync(app)).not.toContain('src'); // compiled JavaScript only
    expect(readdirSync(app)).not.toContain('test');

    // The shipped sandbox config, moved to free ports.
    let text = readFileSync(join(app, 'config', 'sandbox.yaml'), 'utf8');
    const ports = new Map<number, number>();
    for (const port of [8080, 9090, 18180, 18188, 18189, 18190, 18191, 18192, 18193]) ports.set(port, await freePort());
    text = text.replace(/\b(8080|9090|1818\d|1819\d)\b/g, (p) => String(ports.get(Number(p)) ?? p));
    const config = join(work, 'config.yaml');
    writeFileSync(config, text);
    const adminPort = ports.get(9090);

    child = spawn(process.execPath, ['dist/main.js', '--config', config], { cwd: app, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.status, { timeout: 30_000, interval: 250 })
      .toBe(200);
    const exited = new Promise<number | null>((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited, out).toBe(0);
  });
});
