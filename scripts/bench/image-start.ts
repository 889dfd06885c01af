// How the Docker image starts the gateway, read from the Dockerfile itself (its ENV lines and the node
// flags of its ENTRYPOINT), so that the benchmark measures the process the image runs and cannot drift
// from it: the compiled dist/main.js, built here as the image builds it (npm run build).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ImageStart {
  /** The node flags before the script, e.g. --max-semi-space-size=16. */
  nodeArgs: string[];
  /** The image's ENV settings (NODE_ENV, MALLOC_ARENA_MAX, …). */
  env: Record<string, string>;
  /** The compiled entry point. */
  main: string;
}

export function imageStart(root: string): ImageStart {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const m of runtime.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(runtime)?.[1];
  if (!entry) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const argv = JSON.parse(entry) as string[];
  const script = argv.findIndex((a) => a.endsWith('main.js'));
  if (argv[0] !== 'node' || script < 0) throw new Error(`the Dockerfile's ENTRYPOINT is not "node [flags] dist/main.js": ${entry}`);
  return { nodeArgs: argv.slice(1, script), env, main: join(root, argv[script]!) };
}

/** Compiles src/ to dist/ (npm run build); throws with tsc's output when it fails. */
export function buildDist(root: string): void {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}
