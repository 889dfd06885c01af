// The bound series expose exactly what prom-client's own Counter and Histogram would for the same
// updates: the two are compared through a Registry's text exposition.
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundCounter, BoundHistogram } from '../../src/observability/bound-series.ts';

const BUCKETS = [0.005, 0.01, 0.1, 1];
const LABELS = ['tool', 'backend'] as const;
const VALUES = [0.001, 0.005, 0.0051, 0.2, 3, 0.05, 1, 7.5];

describe('bound series', () => {
  it('expose a histogram as prom-client does: cumulative buckets, +Inf, sum and count per label set', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const bound = new BoundHistogram('call_seconds', 'Call time.', LABELS, BUCKETS, ours);
    const reference = new Histogram({
      name: 'call_seconds',
      help: 'Call time.',
      labelNames: LABELS,
      buckets: BUCKETS,
      registers: [theirs],
    });
    const a = bound.bind({ tool: 'get_job_status', backend: 'x' });
    const b = bound.bind({ tool: 'cancel_job', backend: 'x "quoted"\n' });
    for (const v of VALUES) {
      a.observe(v);
      reference.observe({ tool: 'get_job_status', backend: 'x' }, v);
    }
    b.observe(0.02);
    reference.observe({ tool: 'cancel_job', backend: 'x "quoted"\n' }, 0.02);
    bound.bind({ tool: 'get_job_status', backend: 'x' }).observe(0.5); // binding again finds the same series
    reference.observe({ tool: 'get_job_status', backend: 'x' }, 0.5);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('call_seconds_bucket{le="+Inf",tool="get_job_status",backend="x"} 9');
  });

  it('expose a counter as prom-client does, and reset to zero with the series still bound', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const bound = new BoundCounter('calls_total', 'Calls.', LABELS, ours);
    const reference = new Counter({ name: 'calls_total', help: 'Calls.', labelNames: LABELS, registers: [theirs] });
    const c = bound.bind({ tool: 'list_jobs', backend: 'y' });
    for (let i = 0; i < 3; i++) {
      c.inc();
      reference.inc({ tool: 'list_jobs', backend: 'y' });
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('calls_total{tool="list_jobs",backend="y"} 3');
    ours.resetMetrics();
    c.inc();
    expect(await ours.metrics()).toContain('calls_total{tool="list_jobs",backend="y"} 1');
  });

  it('ignore a value that is not a finite number rather than corrupting the sum', async () => {
    const registry = new Registry();
    const h = new BoundHistogram('t_seconds', 'T.', ['tool'], BUCKETS, registry).bind({ tool: 'a' });
    h.observe(Number.NaN);
    h.observe(Number.POSITIVE_INFINITY);
    h.observe(0.01);
    const text = await registry.metrics();
    expect(text).toContain('t_seconds_sum{tool="a"} 0.01');
    expect(text).toContain('t_seconds_count{tool="a"} 1');
  });
});
