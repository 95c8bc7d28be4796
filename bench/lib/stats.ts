import type { Percentiles } from "./types.js";

/** Nearest-rank percentile of an ascending array; 0 for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  const index = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[index] ?? 0;
}

/** p50/p90/p99/max of a list of samples (the list is sorted in place). */
export function summarize(samples: number[]): Percentiles {
  samples.sort((a, b) => a - b);
  return {
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: samples.length > 0 ? (samples[samples.length - 1] ?? 0) : 0,
    count: samples.length,
  };
}

/** Monotonic clock in microseconds (fractional). */
export function nowUs(): number {
  return performance.now() * 1000;
}
