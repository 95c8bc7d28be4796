/** The last N latencies of a pool, for the hedging delay (observed p95 to first byte). */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private n = 0;
  private next = 0;
  private cachedAt = 0;
  private cached = 0;

  constructor(size = 512) {
    this.samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.n < this.samples.length) this.n++;
  }

  /** The q-quantile (0..1) of the window, recomputed at most once a second; undefined with < 20 samples. */
  quantile(q: number, now = Date.now()): number | undefined {
    if (this.n < 20) return undefined;
    if (now - this.cachedAt > 1000) {
      const sorted = Array.from(this.samples.subarray(0, this.n)).sort((a, b) => a - b);
      this.cached = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
      this.cachedAt = now;
    }
    return this.cached;
  }
}
