// The README and docs/ as a reader follows them. Every start-up output block is what the gateway
// prints; every MCP Inspector command and every `npm run sandbox` command works as written, in a
// non-interactive shell, against the sandbox; the Inspector's own tool-schema portability check
// (--strict) finds nothing in the tools' schemas. A command block that is not run here says why, in
// a `<!-- not run: … -->` comment on the line before it. Config examples are valid configs, JSON
// examples are JSON, relative links lead somewhere, and the README stays short.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { SANDBOX_SERVICE_NAMES } from '../src/backends/registry.ts';
import { freePort } from '../scripts/tools/ports.ts';
import { startSandboxProcess, type SandboxProcess } from './helpers/sandbox-process.ts';
import { expectMatchesOutputSchema } from './helpers/result-schemas.ts';

/** The Inspector release the test runs; the docs say `npx -y @modelcontextprotocol/inspector` (the latest). */
const INSPECTOR = '@modelcontextprotocol/inspector@2.12.0';

/** The documents checked: the README, CONTRIBUTING.md and every file of docs/. */
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** The most lines the README may have. */
const README_MAX_LINES = 250;

interface Block {
  file: string;
  /** The line of the opening fence, from 1. */
  line: number;
  /** The info string. */
  lang: string;
  body: string;
  /** The reason of a `<!-- not run: … -->` comment on the line before the fence. */
  notRun?: string;
}

/** The fenced blocks of a Markdown file, with their info strings and not-run reasons. */
function blocksOf(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l === '```');
    if (end < 0) throw new Error(`${file}:${i + 1}: a fence that is never closed`);
    const notRun = /^<!-- not run: (.+) -->$/.exec(lines[i - 1] ?? '')?.[1];
    blocks.push({ file, line: i + 1, lang: open[1]!, body: lines.slice(i + 1, end).join('\n') + '\n', notRun });
    i = end;
  }
  return blocks;
}

const blocks = DOCS.flatMap(blocksOf);
const where = (b: Block) => `${b.file}:${b.line}`;

const COMMAND_LANGS = new Set(['bash', 'sh', 'shell', 'console']);
const isCommandBlock = (b: Block) => COMMAND_LANGS.has(b.lang);
/** A start-up output block: compared with what the gateway prints. */
const isStartUpOutput = (b: Block) => b.body.startsWith('mcp-job-gateway ');
/** A block that looks like start-up output, whether or not it is written so the test finds it. */
const looksLikeStartUpOutput = (b: Block) => /is serving|MCP endpoint: |Bearer tokens from the sandbox issuer/.test(b.body);
/** An MCP Inspector CLI call: run as written against the sandbox. */
const isInspectorCall = (b: Block) => b.lang === 'bash' && b.body.includes('@modelcontextprotocol/inspector --cli');
/** Standalone simulations: each line run as written. */
const isSandboxCommands = (b: Block) =>
  b.lang === 'bash' &&
  b.body
    .trim()
    .split('\n')
    .every((l) => l.startsWith('npm run sandbox -- '));
/** The README's first block: the two commands a new user runs. */
const isTheTwoCommands = (b: Block) => b.file === 'README.md' && b === blocks.find((x) => x.file === 'README.md');
const isRunHere = (b: Block) => isTheTwoCommands(b) || isInspectorCall(b) || isSandboxCommands(b);

/**
 * Whether every line of a doc's block matches the printed lines in order: `…` inside a line stands
 * for any text, and a line that is only `…` for any number of lines.
 */
function mismatch(sample: string, printed: string): string | undefined {
  const want = sample.replace(/\n$/, '').split('\n');
  const got = printed.replace(/\n$/, '').split('\n');
  const pattern = (line: string) =>
    new RegExp(
      `^${line
        .split('…')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
  let g = 0;
  for (let w = 0; w < want.length; w++) {
    const line = want[w]!;
    if (line.trim() === '…') {
      const next = want[w + 1];
      if (next === undefined) return undefined;
      const re = pattern(next);
      while (g < got.length && !re.test(got[g]!)) g++;
      continue;
    }
    if (g >= got.length) return `the doc shows "${line}" after the end of what is printed`;
    if (!pattern(line).test(got[g]!)) return `the doc shows\n  ${line}\nwhere the gateway prints\n  ${got[g]}`;
    g++;
  }
  return g === got.length ? undefined : `the gateway prints more than the doc shows, from\n  ${got[g]}`;
}

/** Runs a shell command with stdin closed (as CI and scripts run it); resolves with its exit code and output. */
function sh(command: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs a command that serves until stopped (in its own process group, so npm's child goes too), until
 * its stdout matches `done`; then stops it and resolves with that stdout.
 */
function serveUntil(command: string, done: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    const stop = () => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no match for ${done} within ${timeoutMs} ms:\n${out}${err}`));
    }, timeoutMs);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (done.test(out)) {
        stop();
        resolve(out);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!done.test(out)) reject(new Error(`exited ${code}:\n${out}${err}`));
    });
  });
}

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The relative links of a Markdown file (outside code), with the line each starts on. */
function linksOf(file: string): { line: number; target: string }[] {
  const text = readFileSync(file, 'utf8');
  // Fenced blocks and inline code are blanked (newlines kept), so their brackets are not links.
  const prose = text.replace(/^```[\s\S]*?^```$/gm, (m) => m.replace(/[^\n]/g, ' ')).replace(/`[^`\n]*`/g, (m) => ' '.repeat(m.length));
  return [...prose.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)]
    .map((m) => ({ line: prose.slice(0, m.index).split('\n').length, target: m[1]! }))
    .filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target));
}

describe('README and docs/, read without running anything', () => {
  it(`keeps the README within ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync('README.md', 'utf8').replace(/\n$/, '').split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('starts the README with the two commands, naming what package.json runs', () => {
    const first = blocks.find(isTheTwoCommands)!;
    expect(first.body.split('\n').map((l) => l.replace(/\s+#.*$/, ''))).toEqual([
      '. scripts/use-node.sh && npm ci && npm start',
      '. scripts/use-node.sh && npm ci && npm test',
      '',
    ]);
    expect(existsSync('scripts/use-node.sh')).toBe(true);
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
    // npm start is the gateway on the sandbox config, as the tests below start it (src/main.ts).
    expect(scripts.start).toMatch(/^node .*src\/main\.ts$/);
    expect(scripts.test).toContain('vitest run');
  });

  it('runs every command block it shows, or says on the line before it why not', () => {
    const unexplained = blocks.filter((b) => isCommandBlock(b) && !isRunHere(b) && b.notRun === undefined).map(where);
    expect(unexplained, 'command blocks neither run by this test nor marked <!-- not run: … -->').toEqual([]);
    const marked = blocks.filter((b) => isRunHere(b) && b.notRun !== undefined).map(where);
    expect(marked, 'blocks this test runs that say they are not run').toEqual([]);
    // Start-up output and Inspector calls are found by their form: one written otherwise would go unchecked.
    expect(blocks.filter((b) => looksLikeStartUpOutput(b) && !isStartUpOutput(b)).map(where)).toEqual([]);
    const inspectorLike = (b: Block) => b.body.includes('@modelcontextprotocol/inspector --cli') && !isStartUpOutput(b);
    expect(blocks.filter((b) => inspectorLike(b) && !isInspectorCall(b)).map(where)).toEqual([]);
  });

  it('names only npm scripts that exist, and only flags the bench takes', () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
    const bench = readFileSync('scripts/bench/run.ts', 'utf8');
    for (const b of blocks.filter(isCommandBlock)) {
      for (const m of b.body.matchAll(/npm run ([\w:-]+)(?: -- ([^#\n]*))?/g)) {
        expect(Object.keys(scripts), `${where(b)}: npm run ${m[1]}`).toContain(m[1]);
        if (m[1] !== 'bench') continue;
        for (const flag of (m[2] ?? '').matchAll(/--([\w-]+)/g)) {
          expect(bench, `${where(b)}: the bench's --${flag[1]}`).toMatch(new RegExp(`^\\s*'?${flag[1]}'?: \\{ type:`, 'm'));
        }
      }
    }
  });

  it('shows config examples the gateway accepts', () => {
    // The one whole config (server and projects); every other YAML block is a part of one, and is
    // checked set into it: its projects merged into the whole one's project of the same reference.
    const docs = blocks.filter((b) => b.lang === 'yaml').map((b) => ({ b, doc: parseYaml(b.body) as Record<string, unknown> }));
    const whole = docs.filter(({ doc }) => 'server' in doc && 'projects' in doc);
    expect(
      whole.map(({ b }) => where(b)),
      'one whole config example',
    ).toHaveLength(1);
    const env = {
      COMFY_PROXY_TOKEN: 't',
      AICONNECT_API_KEY: 'k',
      COMFYCONTROL_TOKEN: 't',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REPLICATE_API_TOKEN: 'r',
    };
    const options = { env, readSecretFile: () => 'secret' };
    const base = whole[0]!.doc;
    expect(() => parseConfig(JSON.stringify(base), where(whole[0]!.b), options)).not.toThrow();
    for (const { b, doc } of docs.filter((d) => d !== whole[0])) {
      const merged: Record<string, unknown> = structuredClone(base);
      for (const [key, value] of Object.entries(doc)) {
        if (key !== 'projects') {
          merged[key] = value;
          continue;
        }
        const projects = structuredClone(base.projects) as { reference: string }[];
        for (const p of value as { reference: string }[]) {
          const target = projects.find((q) => q.reference === p.reference);
          expect(target, `${where(b)}: project ${p.reference} is one of the whole example's`).toBeDefined();
          Object.assign(target!, p);
        }
        merged.projects = projects;
      }
      expect(() => parseConfig(JSON.stringify(merged), where(b), options)).not.toThrow();
    }
  });

  it('shows JSON examples that are JSON', () => {
    for (const b of blocks.filter((x) => x.lang === 'json')) expect(() => JSON.parse(b.body), where(b)).not.toThrow();
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const file of DOCS) {
      for (const { line, target } of linksOf(file)) {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)));
        if (!existsSync(resolved)) broken.push(`${file}:${line}: ${target} (no ${resolved})`);
        else if (anchor !== undefined && resolved.endsWith('.md') && statSync(resolved).isFile() && !anchorsOf(resolved).has(anchor)) {
          broken.push(`${file}:${line}: ${target} (no heading #${anchor} in ${resolved})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('README and docs/, run against the sandbox', () => {
  let sandbox: SandboxProcess;
  beforeAll(async () => {
    sandbox = await startSandboxProcess();
  });
  afterAll(async () => sandbox?.stop());

  /** The printed start-up output with the moved ports put back to the shipped config's. */
  const printed = () =>
    sandbox.out
      .replaceAll(`127.0.0.1:${sandbox.port}/`, '127.0.0.1:8080/')
      .replaceAll(`127.0.0.1:${sandbox.adminPort}/`, '127.0.0.1:9090/');

  it('shows the start-up output the gateway really prints, wherever it shows it', () => {
    const samples = blocks.filter(isStartUpOutput);
    expect(
      samples.filter((b) => b.file === 'README.md'),
      'the README has a start-up output block',
    ).not.toEqual([]);
    for (const b of samples) expect(mismatch(b.body, printed()), where(b)).toBeUndefined();
  });

  const inspectorCalls = blocks.filter(isInspectorCall);
  it('has an MCP Inspector command in the README', () => {
    expect(inspectorCalls.filter((b) => b.file === 'README.md')).not.toEqual([]);
  });

  for (const block of inspectorCalls) {
    it(`gives an MCP Inspector command that works as written in a non-interactive shell (${where(block)})`, async () => {
      expect(block.body).toContain('npx -y @modelcontextprotocol/inspector');
      // The job it asks about is one the start-up output lists as succeeded.
      const jobId = /job_id=(\S+)/.exec(block.body)?.[1];
      const succeeded = sandbox.out.split('\n').find((l) => l.trim().startsWith('succeeded'));
      expect(succeeded).toContain(jobId);
      const command = block.body
        .replace('npx -y @modelcontextprotocol/inspector', `npx -y ${INSPECTOR}`)
        .replaceAll('http://127.0.0.1:8080/mcp', `http://127.0.0.1:${sandbox.port}/mcp`)
        .replace('<the read+cancel token>', sandbox.token);
      const r = await sh(command, 150_000);
      expect(r.code, r.stderr).toBe(0);
      const result = expectMatchesOutputSchema(
        'get_job_status',
        JSON.parse(r.stdout) as { structuredContent?: { status?: string; found?: boolean } },
      );
      expect(result.structuredContent).toMatchObject({ status: 'succeeded', found: true });
    }, 180_000);
  }

  it("passes the Inspector's strict tool-schema portability check", async () => {
    const r = await sh(
      `npx -y ${INSPECTOR} --cli http://127.0.0.1:${sandbox.port}/mcp --transport http --header "Authorization: Bearer ${sandbox.token}" --method tools/list --strict`,
      150_000,
    );
    expect(r.code, r.stderr).toBe(0);
    // With problems it prints each (Warning: / Error: tool "…", Path, Issue) and a count; with none, nothing.
    const report = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('npm warn'));
    expect(report).toEqual([]);
    const tools = (JSON.parse(r.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(tools).toEqual(['list_projects', 'get_job_status', 'cancel_job', 'list_jobs']);
  }, 180_000);
});

describe('README and docs/, standalone simulations', () => {
  const lines = blocks.filter(isSandboxCommands).flatMap((b) =>
    b.body
      .trim()
      .split('\n')
      .map((command) => ({ b, command })),
  );

  it('shows standalone simulation commands', () => {
    expect(lines).not.toEqual([]);
  });

  for (const { b, command } of lines) {
    it(`starts a simulation as written: ${command.replace(/\s+#.*$/, '')} (${where(b)})`, async () => {
      const kinds = /# kinds: (.*)$/.exec(command)?.[1];
      if (kinds !== undefined) expect(kinds.split(/,\s*/)).toEqual([...SANDBOX_SERVICE_NAMES]);
      const kind = /--kind (\S+)/.exec(command)![1]!;
      const port = await freePort();
      const written = command.replace(/\s+#.*$/, '');
      const run = written.replace(/--port \d+/, `--port ${port}`);
      const out = await serveUntil(run, /\n {2}\w+ +\S+/, 60_000);
      const url = /simulated (\S+) listening on (http:\/\/127\.0\.0\.1:(\d+)\S*)/.exec(out);
      expect(url?.[1], out).toBe(kind);
      if (run !== written) expect(url?.[3]).toBe(String(port));
      const credential = /--credential (\S+)/.exec(command)?.[1];
      if (credential !== undefined) expect(out).toContain(`accepts: Authorization: Bearer ${credential}`);
    }, 90_000);
  }
});
