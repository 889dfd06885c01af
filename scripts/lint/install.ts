// Installs the lint tools (scripts/lint/package.json) when they are missing or their lock file has
// changed since the last install, so `npm test` works on a fresh clone without a second command.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const HERE = import.meta.dirname;
const lock = readFileSync(join(HERE, 'package-lock.json'));
const stamp = join(HERE, 'node_modules', '.installed-from');
const want = createHash('sha256').update(lock).digest('hex');

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
  process.stderr.write('installing the lint tools (scripts/lint)\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: HERE, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(stamp, want);
}
