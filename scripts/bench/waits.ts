// node scripts/bench/waits.ts: many agents waiting on one gateway replica. Starts the fake agent-jobs
// backend and the gateway as the Docker image runs it (dist/main.js with the image's node flags, plus
// --import loop-probe.ts for the event loop's delay), opens --waits N waiting get_job_status calls
// (wait_seconds --wait-seconds, every one with a progress token: heartbeats, unless --no-progress;
// half in each protocol era) over --jobs M jobs, and measures: the gateway's RSS and heap idle, while the waits are held and
// after they end; the latency of plain calls made while they are held (--plain calls, one at a time);
// the event loop's delay (max per second) while held and while one status change reaches every
// waiter; how long that change takes to reach them all; and the backend's reads. Prints one table
// row; asserts nothing. Flags (defaults): --waits 2000, --jobs 100, --wait-seconds 120, --plain 200,
// --heartbeat 5, --ramp 500 (waits opened per 100 ms).
import { request, type IncomingMessage } from 'node:http';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { writeGatewayConfig } from './gateway-config.ts';
import { buildDist, imageStart } from './image-start.ts';
import { logTail, rssKiB, startNode, stop, waitForPort } from './procs.ts';
import { machineLine } from './report.ts';
import { requestShape, type Era } from './shapes.ts';
import { freePort } from '../tools/ports.ts';

const HERE = import.meta.dirname;
const ROOT = join(HERE, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options() {
  const { values } = parseArgs({
    options: {
      waits: { type: 'string', default: '2000' },
      jobs: { type: 'string', default: '100' },
      'wait-seconds': { type: 'string', default: '120' },
      plain: { type: 'string', default: '200' },
      heartbeat: { type: 'string', default: '5' },
      ramp: { type: 'string', default: '500' },
      'no-progress': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const n = (k: keyof typeof values) => {
    const v = Number(values[k]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
    return v;
  };
  return {
    waits: n('waits'),
    jobs: n('jobs'),
    waitSeconds: n('wait-seconds'),
    plain: n('plain'),
    heartbeat: n('heartbeat'),
    ramp: n('ramp'),
    progress: !values['no-progress'],
  };
}

const jobId = (i: number) => `2c5b55bb-a98e-5732-8be2-${String(i).padStart(12, '0')}`;

/** A tools/call get_job_status body for `era`, waiting or not, with a progress token when waiting. */
function body(era: Era, token: string, job: string, wait?: { seconds: number; progress: string | undefined }) {
  const shape = requestShape(era, token);
  const msg = JSON.parse(shape.body) as { params: { arguments: Record<string, unknown>; _meta?: Record<string, unknown> } };
  msg.params.arguments.job_id = job;
  if (wait) {
    msg.params.arguments.wait_seconds = wait.seconds;
    msg.params.arguments.known_status = 'running';
    if (wait.progress !== undefined) msg.params._meta = { ...msg.params._meta, progressToken: wait.progress };
  }
  return { headers: shape.headers, text: JSON.stringify(msg) };
}

interface Answer {
  status: number;
  text: string;
  ms: number;
}

function post(url: string, b: { headers: Record<string, string>; text: string }, onData?: (chunk: string) => void): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: b.headers, agent: false }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        onData?.(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(b.text);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface ProbeLine {
  t: number;
  maxMs: number;
  p99Ms: number;
  rssMiB: number;
  heapMiB: number;
}
const probeLines = (file: string): ProbeLine[] => {
  try {
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ProbeLine);
  } catch {
    return [];
  }
};
const between = (lines: ProbeLine[], from: number, to: number) => lines.filter((l) => l.t >= from && l.t <= to + 1000);
const maxOf = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);

async function main() {
  const opts = options();
  const image = imageStart(ROOT);
  buildDist(ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-waits-'));
  const backendPort = await freePort();
  const backend = startNode(join(HERE, 'fake-backend.ts'), [String(backendPort)], { logFile: join(dir, 'fake-backend.log') });
  await waitForPort(backendPort, backend);
  const control = async (path: string, method = 'GET') =>
    (await (await fetch(`http://127.0.0.1:${backendPort}/control/${path}`, { method })).json()) as { reads: number };

  const ports = { mcp: await freePort(), admin: await freePort(), backend: backendPort };
  const setup = await writeGatewayConfig(dir, ports, { name: 'gateway' });
  const config = parse(readFileSync(setup.configFile, 'utf8')) as Record<string, unknown>;
  config.waits = {
    max_seconds: Math.max(60, opts.waitSeconds),
    heartbeat_seconds: opts.heartbeat,
    max_per_caller: Math.min(10_000, opts.waits),
    max_concurrent: opts.waits,
  };
  writeFileSync(setup.configFile, stringify(config));
  const probe = join(dir, 'probe.jsonl');
  writeFileSync(probe, '');
  const gatewayLog = join(dir, 'gateway.log');
  const gateway = startNode(image.main, ['--config', setup.configFile], {
    logFile: gatewayLog,
    nodeArgs: [...image.nodeArgs, '--import', join(HERE, 'loop-probe.ts')],
    env: { ...process.env, ...image.env, BENCH_PROBE_FILE: probe },
  });
  try {
    await waitForPort(ports.mcp, gateway);
  } catch (e) {
    throw new Error(`the gateway did not start: ${(e as Error).message}\n${logTail(gatewayLog)}`, { cause: e });
  }
  const url = setup.mcpUrl;
  const plainCalls = async (count: number) => {
    const ms: number[] = [];
    let bad = 0;
    for (let i = 0; i < count; i++) {
      const a = await post(url, body(i % 2 ? 'legacy' : 'modern', setup.token, jobId(i % opts.jobs)));
      if (a.status !== 200 || a.text.includes('"isError":true')) bad++;
      ms.push(a.ms);
    }
    return { p50: pct(ms, 50), p99: pct(ms, 99), max: maxOf(ms), bad };
  };

  // Warm: the first calls compile the paths.
  await plainCalls(100);
  await sleep(2000);
  const idleRss = rssKiB(gateway.pid)! / 1024;
  const idlePlain = await plainCalls(opts.plain);

  // Open the waits.
  let beats = 0;
  const answers: Promise<Answer & { at: number }>[] = [];
  for (let i = 0; i < opts.waits; i++) {
    const era: Era = i % 2 ? 'legacy' : 'modern';
    const b = body(era, setup.token, jobId(i % opts.jobs), { seconds: opts.waitSeconds, progress: opts.progress ? `w${i}` : undefined });
    answers.push(
      post(url, b, (c) => {
        if (c.includes('notifications/progress')) beats++;
      }).then(
        (a) => ({ ...a, at: Date.now() }),
        (e: Error) => ({ status: -1, text: e.message, ms: 0, at: Date.now() }),
      ),
    );
    if (i % opts.ramp === opts.ramp - 1) await sleep(100);
  }
  // Held: at least two heartbeat intervals (the backend's reads counted over them, with no plain
  // calls), then plain calls one at a time. The loop's delay while held is taken from 3 s after the
  // last wait was sent (the gateway has taken them all in by then), to the end of the plain calls.
  const quietFrom = { at: Date.now(), reads: (await control('reads')).reads };
  await sleep(Math.max(2, opts.heartbeat * 2) * 1000);
  const quiet = { seconds: (Date.now() - quietFrom.at) / 1000, reads: (await control('reads')).reads - quietFrom.reads };
  const heldPlain = await plainCalls(opts.plain);
  await sleep(2000);
  const holdEnd = Date.now();
  const heldRss = rssKiB(gateway.pid)! / 1024;

  // One change for every job: every waiter must answer.
  await control('status/COMPLETED', 'PUT');
  const changeAt = Date.now();
  const done = await Promise.all(answers);
  const allAt = Math.max(...done.map((d) => d.at));
  const firstAt = Math.min(...done.map((d) => d.at));
  const changed = done.filter((d) => d.status === 200 && d.text.includes('"changed":true')).length;
  const refused = done.filter((d) => d.text.includes('RATE_LIMITED')).length;
  const failed = done.length - changed;
  const kinds = new Map<string, number>();
  for (const d of done.filter((d) => !(d.status === 200 && d.text.includes('"changed":true')))) {
    const kind =
      d.status === 200
        ? (/"code":"([A-Z_]+)"/.exec(d.text)?.[1] ?? (d.text.includes('"changed":false') ? 'changed:false' : 'other'))
        : `${d.status} ${d.text.slice(0, 60)}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  await sleep(3000);
  const lines = probeLines(probe);
  const heldLoop = between(lines, quietFrom.at + 3000, holdEnd).filter((l) => !(l as ProbeLine & { gc?: boolean }).gc);
  const changeLoop = between(lines, changeAt, allAt);

  // After: the waits are over; RSS once the heap has had time to shrink.
  await sleep(10_000);
  const afterRss = rssKiB(gateway.pid)! / 1024;
  gateway.kill('SIGUSR2');
  await sleep(1500);
  const collected = probeLines(probe).findLast((l) => (l as ProbeLine & { gc?: boolean }).gc);
  await control('status/RUNNING', 'PUT');
  const afterPlain = await plainCalls(opts.plain);
  await stop(gateway);
  await stop(backend);

  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const row = [
    `${opts.waits} over ${opts.jobs}`,
    `${f(idleRss)} / ${f(heldRss)} / ${f(afterRss)} MiB`,
    `${f(maxOf(heldLoop.map((l) => l.heapMiB)))} / ${f(collected?.heapMiB ?? NaN)}`,
    `${f(idlePlain.p99, 1)} / ${f(heldPlain.p99, 1)} / ${f(afterPlain.p99, 1)} ms`,
    `${f(maxOf(heldLoop.map((l) => l.maxMs)))} ms`,
    `${f((allAt - changeAt) / 1000, 1)} s (first to last ${f(allAt - firstAt)} ms), loop max ${f(maxOf(changeLoop.map((l) => l.maxMs)))} ms`,
    `${changed}/${opts.waits}${failed ? ` (${failed} not: ${refused} refused)` : ''}`,
    `${f(quiet.reads / opts.jobs / quiet.seconds, 2)}/job/s`,
    String(beats),
  ];
  const out = [
    `command:  node scripts/bench/waits.ts ${process.argv.slice(2).join(' ')}`,
    `machine:  ${machineLine()} (shared with other work while measured)`,
    `gateway:  node ${[...image.nodeArgs, '--import loop-probe.ts', 'dist/main.js'].join(' ')}; waits: ${opts.progress ? `heartbeats every ${opts.heartbeat} s` : 'no progress token (no heartbeats)'}, wait_seconds ${opts.waitSeconds}, agent-jobs polled every 3 s`,
    `temp dir: ${dir}`,
    '',
    '| waits over jobs | RSS idle / held / 10 s after | heap held / after, full GC (MiB) | plain-call p99 idle / held / after | loop delay max, held | change reaches all | changed | backend reads | heartbeats |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${row.join(' | ')} |`,
    '',
    ...(kinds.size ? [`not changed: ${[...kinds].map(([k, n]) => `${n} × ${k}`).join('; ')}`] : []),
    `plain calls: idle p50 ${f(idlePlain.p50, 1)} ms, held p50 ${f(heldPlain.p50, 1)} max ${f(heldPlain.max, 1)} ms, errors ${idlePlain.bad + heldPlain.bad + afterPlain.bad}`,
  ].join('\n');
  process.stdout.write(`${out}\n`);
  appendFileSync(join(dir, 'result.md'), `${out}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
