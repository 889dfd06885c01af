// Tools the tests and the bench need that are not npm packages, installed on first use and cached, so a fresh
// machine (a developer's or CI's) needs nothing but Go, Python 3.10+ and apt:
//   ensureHelm()     → helm, built from source with `go install` into <tools>/bin (pinned version)
//   ensurePromtool() → promtool, from Debian's `prometheus` package when it is not on PATH
//   ensureRedisServer() → redis-server, from Debian's `redis-server` package when it is not on PATH
//                       (the shared-state tests start their own servers on free ports)
//   ensureKubeStrict() → kube-strict (test/helm/kube-strict), built with `go build`: decodes
//                       Kubernetes objects strictly with the real Go types (unknown fields fail)
//   ensurePythonMcp() → a Python venv (<tools>/python-mcp) with the official MCP Python SDK from PyPI
//   ensurePythonAgents() → a Python venv (<tools>/python-agents) with OpenAI's Agents SDK and the same MCP SDK
//   ensurePythonFastmcpTasks() → a Python venv (<tools>/python-fastmcp-tasks) with FastMCP and its tasks
//                       extension (fastmcp[tasks]), the same MCP SDK underneath
//   ensureJaeger()   → jaeger (v2: the OpenTelemetry-Collector-based all-in-one), built from its Go module
// Each call is idempotent and cheap once the tool is there. A tool that cannot be had is an error
// with a message that says why (the tests never skip a check for a missing tool).
// Installing takes minutes on a cold machine (helm: ~4-5 min to download and compile on 2 cores;
// promtool: ~1 min; redis-server: ~15 s; the python-mcp venv: ~15 s; python-agents: ~20 s;
// python-fastmcp-tasks: ~30 s): give the calling hook a generous timeout.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  cpSync,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is scripts/tools/install.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Cache of installed tools, outside the checkout so that every clone on the machine (a fresh CI
 * checkout included) reuses what an earlier run built: MCP_JOB_GATEWAY_TOOLS, else
 * $XDG_CACHE_HOME/mcp-job-gateway, else ~/.cache/mcp-job-gateway. scripts/use-node.sh uses the same folder.
 */
export const TOOLS_DIR = toolsDir(process.env);
export function toolsDir(env: NodeJS.ProcessEnv): string {
  if (env.MCP_JOB_GATEWAY_TOOLS) return resolve(env.MCP_JOB_GATEWAY_TOOLS);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'mcp-job-gateway');
}
/** Where `go install` puts binaries (GOBIN). */
export const TOOLS_BIN = join(TOOLS_DIR, 'bin');
const LOG_DIR = join(TOOLS_DIR, 'logs');

/** The helm release built by ensureHelm (its module is helm.sh/helm/v3). */
export const HELM_VERSION = 'v3.22.0';
/**
 * The Kubernetes version helm reports as its default capabilities (`helm template`, and the
 * deprecated-API check of `helm lint`). Helm's own Makefile sets it at link time from the
 * k8s.io/client-go version in its go.mod (v0.37.0 for helm v3.22.0 → Kubernetes 1.37); a plain
 * `go install` would leave the source default of 1.20. Update both together.
 */
const HELM_KUBE_VERSION = { major: '1', minor: '37' };

/** Path of a helm binary of HELM_VERSION, building it with `go install` when missing. */
export async function ensureHelm(): Promise<string> {
  const bin = join(TOOLS_BIN, 'helm');
  if (await helmIsCurrent(bin)) return bin;
  return withLock('helm', async () => {
    if (await helmIsCurrent(bin)) return bin; // another process built it while we waited
    const go = findOnPath('go');
    if (!go) {
      throw new Error(
        `ensureHelm: helm ${HELM_VERSION} is not installed in ${TOOLS_BIN} and building it needs Go, which is not on PATH. ` +
          'Install Go (a version that builds helm: see its go.mod), or put a helm ' +
          HELM_VERSION +
          ` binary at ${bin}.`,
      );
    }
    mkdirSync(TOOLS_BIN, { recursive: true });
    const pkg = 'helm.sh/helm/v3';
    const ldflags = [
      '-s',
      '-w',
      `-X ${pkg}/internal/version.version=${HELM_VERSION}`,
      `-X ${pkg}/internal/version.metadata=`,
      `-X ${pkg}/pkg/lint/rules.k8sVersionMajor=${HELM_KUBE_VERSION.major}`,
      `-X ${pkg}/pkg/lint/rules.k8sVersionMinor=${HELM_KUBE_VERSION.minor}`,
      `-X ${pkg}/pkg/chartutil.k8sVersionMajor=${HELM_KUBE_VERSION.major}`,
      `-X ${pkg}/pkg/chartutil.k8sVersionMinor=${HELM_KUBE_VERSION.minor}`,
    ].join(' ');
    await run(go, ['install', '-trimpath', `-ldflags=${ldflags}`, `${pkg}/cmd/helm@${HELM_VERSION}`], {
      log: 'helm-install.log',
      // The machine's Go settings (GOPROXY, GOFLAGS, caches) apply; only the output dir is ours.
      env: { GOBIN: TOOLS_BIN, CGO_ENABLED: '0' },
      what: `go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`,
    });
    if (!(await helmIsCurrent(bin))) {
      throw new Error(`ensureHelm: go install finished but ${bin} does not report version ${HELM_VERSION}`);
    }
    return bin;
  });
}

/**
 * The Jaeger release built by ensureJaeger. Jaeger tags each release twice, v1.x for the Go module
 * and v2.x for the binary: v1.76.0 is Jaeger v2.13.0.
 */
export const JAEGER_MODULE_VERSION = 'v1.76.0';

/**
 * Path of a jaeger binary of JAEGER_MODULE_VERSION, built when missing. Its go.mod has replace
 * directives, which `go install pkg@version` refuses, so the module is downloaded and built in a
 * writable copy (about 5 minutes on 2 cores, cold).
 */
export async function ensureJaeger(): Promise<string> {
  const bin = join(TOOLS_BIN, `jaeger-${JAEGER_MODULE_VERSION}`);
  if (isExecutable(bin)) return bin;
  return withLock('jaeger', async () => {
    if (isExecutable(bin)) return bin;
    const go = findOnPath('go');
    if (!go)
      throw new Error(
        `ensureJaeger: building jaeger ${JAEGER_MODULE_VERSION} needs Go, which is not on PATH; or put a jaeger binary at ${bin}.`,
      );
    const module = `github.com/jaegertracing/jaeger@${JAEGER_MODULE_VERSION}`;
    const dl = JSON.parse(await capture(go, ['mod', 'download', '-json', module])) as { Dir?: string; Error?: string };
    if (!dl.Dir) throw new Error(`ensureJaeger: go mod download ${module} failed: ${dl.Error ?? 'no directory'}`);
    const src = join(TOOLS_DIR, 'src', `jaeger-${JAEGER_MODULE_VERSION}`);
    rmSync(src, { recursive: true, force: true });
    mkdirSync(join(TOOLS_DIR, 'src'), { recursive: true });
    cpSync(dl.Dir, src, { recursive: true });
    chmodTree(src);
    mkdirSync(TOOLS_BIN, { recursive: true });
    await run(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', `${bin}.partial`, './cmd/jaeger'], {
      log: 'jaeger-build.log',
      cwd: src,
      env: { CGO_ENABLED: '0' },
      what: `go build ./cmd/jaeger (${module})`,
    });
    renameSync(`${bin}.partial`, bin);
    rmSync(src, { recursive: true, force: true });
    return bin;
  });
}

/** The module cache is read-only; the copy must be writable for the build (and for removal). */
function chmodTree(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chmodTree(path);
    else chmodSync(path, 0o644);
  }
}

/** Path of promtool: the one on PATH, else installed from Debian's `prometheus` package. */
export function ensurePromtool(): Promise<string> {
  // No recommends: the package's server is not wanted, only its promtool (/usr/bin/promtool).
  return ensureAptTool({
    bin: 'promtool',
    pkg: 'prometheus',
    log: 'promtool-install.log',
    instead: 'Install promtool (Prometheus 2.x or newer) and put it on PATH.',
  });
}

/** Path of redis-server: the one on PATH, else installed from Debian's `redis-server` package. */
export function ensureRedisServer(): Promise<string> {
  // The package's own service (port 6379) is not used: the tests start servers on free ports.
  return ensureAptTool({
    bin: 'redis-server',
    pkg: 'redis-server',
    log: 'redis-server-install.log',
    instead: 'Install Redis 6 or newer (or Valkey, with a redis-server binary) and put redis-server on PATH.',
  });
}

/** A binary on PATH that answers --version, else installed from a Debian package with apt-get (which needs root). */
async function ensureAptTool(t: { bin: string; pkg: string; log: string; instead: string }): Promise<string> {
  const what = `ensure ${t.bin}`;
  const found = findOnPath(t.bin);
  if (found && (await works(found, ['--version']))) return found;
  return withLock(t.bin, async () => {
    const again = findOnPath(t.bin);
    if (again && (await works(again, ['--version']))) return again;
    const aptGet = findOnPath('apt-get');
    if (!aptGet)
      throw new Error(`${what}: ${t.bin} is not on PATH and there is no apt-get to install it (Debian package "${t.pkg}"). ${t.instead}`);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new Error(
        `${what}: ${t.bin} is not on PATH and installing it (apt-get install ${t.pkg}) needs root. Run \`sudo apt-get install -y ${t.pkg}\` (or put ${t.bin} on PATH) and rerun.`,
      );
    }
    await aptGetInstall(aptGet, t.pkg, t.log);
    const bin = findOnPath(t.bin) ?? `/usr/bin/${t.bin}`;
    if (!(await works(bin, ['--version']))) throw new Error(`${what}: installed the "${t.pkg}" package but ${bin} does not run`);
    return bin;
  });
}

/**
 * apt-get update, then install one package without recommends. One apt-get at a time across test
 * workers (dpkg allows one), and a wait for a dpkg lock held by anything else on the machine.
 */
function aptGetInstall(aptGet: string, pkg: string, log: string): Promise<void> {
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const wait = ['-o', 'DPkg::Lock::Timeout=300'];
  return withLock('apt-get', async () => {
    await run(aptGet, [...wait, 'update'], { log, env, what: 'apt-get update' });
    await run(aptGet, [...wait, 'install', '-y', '--no-install-recommends', pkg], {
      log,
      env,
      append: true,
      what: `apt-get install ${pkg}`,
    });
  });
}

/**
 * Path of kube-strict, the strict Kubernetes object decoder in test/helm/kube-strict (a Go module
 * pinning k8s.io/api and the Prometheus Operator API types), built with `go build` when missing.
 * The binary's name carries a hash of its sources, so an edit rebuilds it.
 */
export async function ensureKubeStrict(): Promise<string> {
  const src = join(REPO_ROOT, 'test', 'helm', 'kube-strict');
  const hash = createHash('sha256');
  for (const f of readdirSync(src)
    .filter((n) => /\.go$|^go\.(mod|sum)$/.test(n))
    .sort())
    hash.update(f).update(readFileSync(join(src, f)));
  const bin = join(TOOLS_BIN, `kube-strict-${hash.digest('hex').slice(0, 12)}`);
  if (isExecutable(bin)) return bin;
  return withLock('kube-strict', async () => {
    if (isExecutable(bin)) return bin;
    const go = findOnPath('go');
    if (!go) throw new Error(`ensureKubeStrict: building ${src} needs Go (see its go.mod for the version), which is not on PATH`);
    mkdirSync(TOOLS_BIN, { recursive: true });
    const tmp = `${bin}.tmp-${process.pid}`;
    await run(go, ['build', '-trimpath', '-buildvcs=false', '-o', tmp, '.'], {
      log: 'kube-strict-build.log',
      cwd: src,
      env: { CGO_ENABLED: '0' },
      what: `go build ${src}`,
    });
    renameSync(tmp, bin);
    return bin;
  });
}

/** The official MCP Python SDK (PyPI `mcp`) that ensurePythonMcp installs, pinned exactly. */
export const PYTHON_MCP_VERSION = '2.3.0';
/** OpenAI's Agents SDK (PyPI `openai-agents`) that ensurePythonAgents installs, pinned exactly, beside the same `mcp`. */
export const PYTHON_AGENTS_VERSION = '0.24.0';
/**
 * FastMCP (PyPI `fastmcp`) that ensurePythonFastmcpTasks installs with its `tasks` extra, pinned exactly. The
 * extra pulls `fastmcp-tasks` of the same version (the client of the MCP Tasks extension, SEP-2663) and
 * `mcp` PYTHON_MCP_VERSION; newer FastMCP releases pin a `fastmcp-tasks` that speaks another draft.
 */
export const PYTHON_FASTMCP_VERSION = '4.1.4';

/** A Python venv under the tools folder, holding exact pins of PyPI distributions. */
interface PythonVenv {
  /** Its folder under <tools>, and the name of its lock and install log. */
  name: string;
  /** distribution → exact version; the venv is current when every one imports at that version. */
  pins: Record<string, string>;
  /** A module each distribution provides, imported to check it. */
  modules: string[];
  /** Extras asked of a distribution (`dist[extra,…]==version` to pip); what they pull is pinned in `pins` too. */
  extras?: Record<string, string[]>;
}

const PYTHON_MCP: PythonVenv = { name: 'python-mcp', pins: { mcp: PYTHON_MCP_VERSION }, modules: ['mcp'] };
const PYTHON_AGENTS: PythonVenv = {
  name: 'python-agents',
  pins: { 'openai-agents': PYTHON_AGENTS_VERSION, mcp: PYTHON_MCP_VERSION },
  modules: ['agents', 'mcp'],
};
const PYTHON_FASTMCP_TASKS: PythonVenv = {
  name: 'python-fastmcp-tasks',
  pins: { fastmcp: PYTHON_FASTMCP_VERSION, 'fastmcp-tasks': PYTHON_FASTMCP_VERSION, mcp: PYTHON_MCP_VERSION },
  modules: ['fastmcp', 'fastmcp_tasks', 'mcp'],
  extras: { fastmcp: ['tasks'] },
};

/**
 * Path of the python of a venv (<tools>/python-mcp) holding `mcp==PYTHON_MCP_VERSION`, made with
 * `python3 -m venv` and pip when missing or holding another version. Needs python3 (3.10 or newer,
 * the SDK's floor) on PATH and PyPI.
 */
export function ensurePythonMcp(): Promise<string> {
  return ensurePythonVenv(PYTHON_MCP);
}

/** Path of the python of a venv (<tools>/python-agents) holding OpenAI's Agents SDK and the MCP SDK it drives, pinned as above. */
export function ensurePythonAgents(): Promise<string> {
  return ensurePythonVenv(PYTHON_AGENTS);
}

/**
 * Path of the python of a venv (<tools>/python-fastmcp-tasks) holding `fastmcp[tasks]==PYTHON_FASTMCP_VERSION`:
 * FastMCP's client, its tasks extension (importing `fastmcp_tasks` turns it on) and the MCP SDK under them.
 */
export function ensurePythonFastmcpTasks(): Promise<string> {
  return ensurePythonVenv(PYTHON_FASTMCP_TASKS);
}

async function ensurePythonVenv(venv: PythonVenv): Promise<string> {
  const dir = join(TOOLS_DIR, venv.name);
  const python = join(dir, 'bin', 'python');
  const requirements = Object.entries(venv.pins).map(
    ([dist, version]) => `${dist}${venv.extras?.[dist] ? `[${venv.extras[dist].join(',')}]` : ''}==${version}`,
  );
  if (await pythonVenvIsCurrent(python, venv)) return python;
  return withLock(venv.name, async () => {
    if (await pythonVenvIsCurrent(python, venv)) return python; // another process made it while we waited
    const python3 = findOnPath('python3');
    if (!python3) {
      throw new Error(
        `ensurePython: ${requirements.join(' ')} is not installed in ${dir} and making that venv needs python3 (3.10 or newer), which is not on PATH. Install Python 3.10+ and rerun.`,
      );
    }
    const version = (await capture(python3, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']).catch(() => '?')).trim();
    const [major, minor] = version.split('.').map(Number);
    if (!(major! > 3 || (major === 3 && minor! >= 10))) {
      throw new Error(
        `ensurePython: ${python3} is Python ${version}, but ${requirements.join(' ')} needs Python 3.10 or newer. Put a newer python3 first on PATH and rerun.`,
      );
    }
    // A venv holding other versions, or left half-made by an interrupted install, is made anew.
    rmSync(dir, { recursive: true, force: true });
    const log = `${venv.name}-install.log`;
    await run(python3, ['-m', 'venv', dir], {
      log,
      what: `python3 -m venv ${dir} (on Debian/Ubuntu this needs the python3-venv package)`,
    });
    // The machine's pip settings (index, proxy, caches) apply.
    await run(python, ['-m', 'pip', 'install', '--no-input', ...requirements], {
      log,
      append: true,
      env: { PIP_DISABLE_PIP_VERSION_CHECK: '1' },
      what: `pip install ${requirements.join(' ')}`,
    });
    if (!(await pythonVenvIsCurrent(python, venv))) {
      throw new Error(`ensurePython: pip finished but ${python} does not import ${requirements.join(' ')}`);
    }
    return python;
  });
}

async function pythonVenvIsCurrent(python: string, venv: PythonVenv): Promise<boolean> {
  if (!isExecutable(python)) return false;
  const check = `import json, importlib.metadata as m; import ${venv.modules.join(', ')}; print(json.dumps({d: m.version(d) for d in ${JSON.stringify(Object.keys(venv.pins))}}))`;
  const out = await capture(python, ['-c', check]).catch(() => '');
  try {
    return JSON.stringify(JSON.parse(out)) === JSON.stringify(venv.pins);
  } catch {
    return false;
  }
}

async function helmIsCurrent(bin: string): Promise<boolean> {
  if (!isExecutable(bin)) return false;
  const out = await capture(bin, ['version', '--template', '{{.Version}}']).catch(() => '');
  return out.trim() === HELM_VERSION;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

async function works(bin: string, args: string[]): Promise<boolean> {
  return capture(bin, args).then(
    () => true,
    () => false,
  );
}

/** Runs a short command and returns its stdout; rejects on a non-zero exit. */
function capture(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** Runs an install step, its output going to <tools>/logs/LOG; on failure the error quotes the log's end. */
function run(
  cmd: string,
  args: string[],
  opts: { log: string; env?: Record<string, string>; append?: boolean; cwd?: string; what: string },
): Promise<void> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logPath = join(LOG_DIR, opts.log);
  const log = createWriteStream(logPath, { flags: opts.append ? 'a' : 'w' });
  log.write(`$ ${cmd} ${args.join(' ')}\n`);
  const started = Date.now();
  return new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', (e) => {
      log.end();
      reject(new Error(`${opts.what}: cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code) => {
      log.end(`# exit ${code} after ${Math.round((Date.now() - started) / 1000)} s\n`, () => {
        if (code === 0) return resolve();
        const tail = readFileSync(logPath, 'utf8').split('\n').slice(-25).join('\n');
        reject(new Error(`${opts.what} failed (exit ${code}); log ${logPath} ends:\n${tail}`));
      });
    });
  });
}

/**
 * Runs fn holding an exclusive lock (a directory under <tools>/locks), so that parallel test workers
 * or processes install a tool once. A lock left by a dead process is taken over.
 */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = join(TOOLS_DIR, 'locks', name);
  mkdirSync(join(TOOLS_DIR, 'locks'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      } catch {
        // being created or removed right now
      }
      if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
