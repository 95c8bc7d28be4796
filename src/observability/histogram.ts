import type { Registry } from "prom-client";

/** Buckets in seconds for LLM latencies: from 5 ms (a cached embedding) to 10 minutes (a long generation). */
export const LATENCY_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600,
] as const;

/** Buckets in seconds for the gap between two streamed events (a token every few ms to a stall of seconds). */
export const INTER_TOKEN_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5,
] as const;

/** One label combination of a histogram: plain counters, nothing allocated per observation. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Records one value, in seconds. */
  observe(seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > (b[i] as number)) i++;
    if (i < b.length) (this.counts as { [k: number]: number })[i]++;
    this.sum += seconds;
    this.count++;
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/**
 * A Prometheus histogram for the hot path. prom-client's `observe` hashes its label object and
 * allocates on every call; here a caller looks its series up once (per request, per stream, or once
 * for good) and then each observation is a bucket search and three additions. It registers itself on
 * the given registry like any prom-client metric, so the exposition is the same.
 */
export class FastHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[] = LATENCY_BUCKETS_S,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series for these label values (in the order of `labelNames`), created on first use. */
  labels(...values: string[]): HistogramSeries {
    const key = values.length === 1 ? (values[0] as string) : values.join("\u0001");
    let s = this.series.get(key);
    if (!s) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? "";
      });
      s = new HistogramSeries(labels, this.bounds);
      this.series.set(key, s);
    }
    return s;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ value: acc, labels: { ...s.labels, le }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { ...s.labels, le: "+Inf" }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}

/** A Prometheus counter for the hot path: one map lookup and one addition per increment. */
export class FastCounter {
  readonly type = "counter";
  readonly aggregator = "sum";
  private readonly series = new Map<string, { labels: Record<string, string>; value: number }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    registry.registerMetric(this as never);
  }

  /** Adds `by` to the series for these label values (in the order of `labelNames`). */
  inc(by: number, ...values: string[]): void {
    const key = values.length === 1 ? (values[0] as string) : values.join("\u0001");
    let s = this.series.get(key);
    if (!s) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? "";
      });
      s = { labels, value: 0 };
      this.series.set(key, s);
    }
    s.value += by;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const s of this.series.values())
      values.push({ value: s.value, labels: s.labels, metricName: this.name });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
