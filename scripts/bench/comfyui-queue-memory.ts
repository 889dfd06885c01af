// Memory of a gateway answering many concurrent reads on a legacy ComfyUI host with a huge /queue
// (docs/performance.md, "Shared reads of a legacy host's queue and history"). Starts the ComfyUI
// simulation with a queue of about --queue-mb MB (pending prompts with large graphs, nothing ever
// runs: its clock stands still), a gateway as the Docker image starts it (dist/main.js, the
// Dockerfile's node flags and ENV), and sends --calls concurrent get_job_status calls, each for a job
// of the queue, --rounds times. Prints the gateway's RSS before, its peak RSS (VmHWM) after each
// round, the /queue requests the host received, and whether every answer was right (status and queue
// position as the simulation's own queue says).
//
//   node scripts/bench/comfyui-queue-memory.ts [--queue-mb 30] [--calls 40] [--rounds 3] [--main path/to/dist/main.js]
//
// Without --main it builds dist/ (npm run build) and runs it. Asserts nothing; prints figures.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { startComfyuiSim, type ComfyGraph } from '../../src/backends/comfyui/simulation/server.ts';
import { ManualClock } from '../../src/simulation/clock.ts';
import { freePort } from '../tools/ports.ts';
import { buildDist, imageStart } from './image-start.ts';
import { logTail, startNode, stop, waitForPort } from './procs.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    'queue-mb': { type: 'string', default: '30' },
    calls: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    main: { type: 'string' },
  },
});
const queueMb = Number(values['queue-mb']);
const calls = Number(values.calls);
const rounds = Number(values.rounds);

/** A graph of about `bytes` of JSON: many nodes with a prompt text each, as large workflows have. */
function bigGraph(bytes: number, seed: number): ComfyGraph {
  const graph: ComfyGraph = {};
  const text = `a detailed scene, number ${seed}, `.repeat(8);
  for (let n = 1, size = 0; size < bytes; n++) {
    const node = {
      class_type: n % 3 ? 'CLIPTextEncode' : 'KSampler',
      inputs: { text, clip: [String(n - 1), 0], seed: seed * 1000 + n, steps: 20, cfg: 7.5 },
      _meta: { title: `Node ${n}` },
    };
    graph[String(n)] = node;
    size += JSON.stringify(node).length + 8;
  }
  return graph;
}

function status(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

const clock = new ManualClock();
const sim = await startComfyuiSim({ api: 'legacy', clock, seed: false });
const perJob = 100_000;
const jobs = Math.max(1, Math.round((queueMb * 1_000_000) / perJob));
const ids: string[] = [];
for (let i = 0; i < jobs; i++) ids.push(sim.submit({ prompt: bigGraph(perJob, i) }));
const queueBytes = Buffer.byteLength(JSON.stringify({ queue_running: sim.queue().running, queue_pending: sim.queue().pending }));

const image = imageStart(ROOT);
let main = values.main ? resolve(values.main) : image.main;
if (!values.main) buildDist(ROOT);
const dir = mkdtempSync(join(tmpdir(), 'mcp-queue-memory-'));
const port = await freePort();
const configFile = join(dir, 'gateway.yaml');
writeFileSync(
  configFile,
  stringify({
    server: { host: '127.0.0.1', port, path: '/mcp', shutdown_grace_seconds: 1, caller_rate_limit: { enabled: false } },
    auth: { mode: 'none' },
    projects: [
      {
        reference: 'studio',
        backend: { kind: 'comfyui', api: 'legacy', timeout_ms: 60_000, hosts: [{ name: 'gpu1', url: sim.server.url }] },
      },
    ],
  }),
);
const log = join(dir, 'gateway.log');
const env = { ...process.env, ...image.env };
delete env.PORT;
delete env.LOG_LEVEL;
main = resolve(main);
const child = startNode(main, ['--config', configFile], { logFile: log, nodeArgs: image.nodeArgs, env });
try {
  await waitForPort(port, child);
} catch (e) {
  console.error(`the gateway did not start: ${(e as Error).message}\n${logTail(log)}`);
  process.exit(1);
}

/** The answer the simulation's own queue gives for a job: status and position. */
function expected(id: string): { status: string; position?: number } {
  const q = sim.queue();
  if (q.running.some((i) => i[1] === id)) return { status: 'running' };
  const mine = q.pending.find((i) => i[1] === id)!;
  const ahead = q.pending.filter((i) => i[1] !== id && (i[0] < mine[0] || (i[0] === mine[0] && i[1] < mine[1]))).length;
  return { status: 'queued', position: ahead };
}

async function getStatus(id: string, n: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: n,
      method: 'tools/call',
      params: { name: 'get_job_status', arguments: { project_reference: 'studio', job_id: id } },
    }),
  });
  const text = await res.text();
  let sc: { status?: string; queue_position?: number } | undefined;
  try {
    sc = (JSON.parse(text) as { result?: { structuredContent?: { status?: string; queue_position?: number } } }).result?.structuredContent;
  } catch {
    return `HTTP ${res.status}: ${text.slice(0, 200)}`;
  }
  const want = expected(id);
  if (sc?.status !== want.status || (want.position !== undefined && sc.queue_position !== want.position))
    return `job ${id}: got ${JSON.stringify(sc).slice(0, 200)}, expected ${JSON.stringify(want)}`;
  return undefined;
}

console.log(
  `gateway:  node ${[...image.nodeArgs, main].join(' ')}, ${Object.entries(image.env)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`,
);
console.log(
  `queue:    ${jobs} prompts, GET /queue answers ${(queueBytes / 1e6).toFixed(1)} MB; ${calls} concurrent calls a round, ${rounds} rounds`,
);
const pid = child.pid!;
console.log(`idle:     RSS ${status(pid).rss.toFixed(0)} MiB`);
let queueReads = sim.server.requests.filter((r) => r.path === '/queue').length;
let wrong = 0;
for (let r = 1; r <= rounds; r++) {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: calls }, (_, i) => getStatus(ids[(i * 7 + r) % ids.length]!, i)));
  const ms = performance.now() - t0;
  const bad = results.filter((x) => x !== undefined);
  wrong += bad.length;
  const reads = sim.server.requests.filter((q) => q.path === '/queue').length;
  const s = status(pid);
  console.log(
    `round ${r}:  ${calls - bad.length}/${calls} right in ${(ms / 1000).toFixed(1)} s, /queue requests ${reads - queueReads}, peak RSS (VmHWM) ${s.hwm.toFixed(0)} MiB, RSS after ${s.rss.toFixed(0)} MiB`,
  );
  if (bad.length) console.log(`          first wrong answer: ${bad[0]}`);
  queueReads = reads;
}
const exit = child.exitCode ?? child.signalCode;
if (exit !== null) console.log(`the gateway exited (${exit}) during the run:\n${logTail(log)}`);
await stop(child);
await sim.close();
console.log(wrong === 0 && exit === null ? 'every answer right' : `${wrong} wrong answers`);
