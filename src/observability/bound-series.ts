// Counters and histograms whose series are bound once per label set: counting a call is then a
// few additions. prom-client's own inc()/observe() check, copy and hash the label object on every
// update, and a tool call makes five of them (see docs/performance.md). These register into a
// prom-client Registry and hand it their values in its own format, so the exposition, the registry
// and every other metric stay prom-client's.
import type { Registry } from 'prom-client';

type Labels<N extends string> = Record<N, string>;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName?: string;
}

/** The part of a prom-client metric its Registry uses (registerMetric, metrics(), getMetricsAsJSON(), resetMetrics()). */
abstract class BoundSeriesMetric<N extends string, S extends { labels: Labels<N> }> {
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'histogram';
  protected readonly series = new Map<string, S>();
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly N[];

  constructor(name: string, help: string, labelNames: readonly N[], registry: Registry) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    registry.registerMetric(this as never);
  }

  protected seriesFor(labels: Labels<N>, create: (labels: Labels<N>) => S): S {
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = create(Object.fromEntries(this.labelNames.map((n) => [n, labels[n]])) as Labels<N>);
      this.series.set(key, s);
    }
    return s;
  }

  protected abstract values(): MetricValue[];

  getForPromString() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }

  get() {
    const data = this.getForPromString();
    return { ...data, values: data.values.map(({ sharedLabels, ...v }) => ({ ...v, labels: { ...sharedLabels, ...v.labels } })) };
  }

  /** Zeroes every series; series already bound keep counting. */
  abstract reset(): void;
}

export class BoundCounter<N extends string> extends BoundSeriesMetric<N, { labels: Labels<N>; value: number }> {
  readonly type = 'counter';

  /** The series of these labels; `inc()` adds one to it. */
  bind(labels: Labels<N>): { inc(): void } {
    const s = this.seriesFor(labels, (l) => ({ labels: l, value: 0 }));
    return {
      inc() {
        s.value++;
      },
    };
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
  }

  reset(): void {
    for (const s of this.series.values()) s.value = 0;
  }
}

interface HistogramSeries<N extends string> {
  labels: Labels<N>;
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

export class BoundHistogram<N extends string> extends BoundSeriesMetric<N, HistogramSeries<N>> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly N[], buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  /** The series of these labels; `observe(v)` counts one value (a non-finite value is ignored). */
  bind(labels: Labels<N>): { observe(value: number): void } {
    const s = this.seriesFor(labels, (l) => ({ labels: l, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 }));
    const bounds = this.bounds;
    return {
      observe(value) {
        if (!Number.isFinite(value)) return;
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        s.counts[i]!++;
        s.sum += value;
        s.count++;
      },
    };
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        out.push({ value: cumulative, labels: { le }, sharedLabels: s.labels, metricName: bucket });
      });
      out.push({ value: s.count, labels: { le: '+Inf' }, sharedLabels: s.labels, metricName: bucket });
      out.push({ value: s.sum, labels: {}, sharedLabels: s.labels, metricName: `${this.name}_sum` });
      out.push({ value: s.count, labels: {}, sharedLabels: s.labels, metricName: `${this.name}_count` });
    }
    return out;
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
