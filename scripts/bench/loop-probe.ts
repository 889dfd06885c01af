// Loaded into the gateway by the waits benchmark (node --import): once a second, appends to the file
// named by BENCH_PROBE_FILE one JSON line with the event loop's delay over that second
// (perf_hooks monitorEventLoopDelay, 10 ms resolution: max and p99 in ms), the RSS and the heap used.
// On SIGUSR2 it runs a full garbage collection and writes one line { gc: true, heapMiB, rssMiB }: the
// heap still live after the waits end, apart from garbage V8 has not yet had a reason to collect.
// Nothing else of the gateway changes; without BENCH_PROBE_FILE it does nothing.
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  setInterval(() => {
    const m = process.memoryUsage();
    const line = {
      t: Date.now(),
      maxMs: h.max / 1e6,
      p99Ms: h.percentile(99) / 1e6,
      rssMiB: m.rss / 2 ** 20,
      heapMiB: m.heapUsed / 2 ** 20,
    };
    h.reset();
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  }, 1000).unref();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  process.on('SIGUSR2', () => {
    gc();
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), gc: true, heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20 })}\n`);
  });
}
