import type { Endpoint } from "./endpoint.js";

export interface HealthCheckSettings {
  enabled: boolean;
  intervalMs: number;
  timeoutMs: number;
  path: string;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/**
 * Active health checks for one pool: every `intervalMs`, a cheap GET to each endpoint whose backend
 * can be probed. `unhealthyThreshold` failures in a row take an endpoint out, `healthyThreshold`
 * successes bring it back. One timer per pool.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly streak = new Map<Endpoint, number>();
  private running = false;

  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly s: HealthCheckSettings,
    private readonly onChange: (ep: Endpoint, healthy: boolean) => void = () => {},
  ) {}

  start(): void {
    if (!this.s.enabled || this.timer || !this.endpoints.some((e) => e.backend.probe)) return;
    this.timer = setInterval(() => void this.round(), this.s.intervalMs);
    this.timer.unref();
    void this.round();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round of probes (exposed for tests). */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(this.endpoints.map((ep) => this.check(ep)));
    } finally {
      this.running = false;
    }
  }

  private async check(ep: Endpoint): Promise<void> {
    if (!ep.backend.probe) return;
    let ok = true;
    try {
      await ep.backend.probe(this.s.path, AbortSignal.timeout(this.s.timeoutMs));
    } catch {
      ok = false;
    }
    // streak > 0 counts successes, < 0 failures.
    const prev = this.streak.get(ep) ?? 0;
    const streak = ok ? Math.max(prev, 0) + 1 : Math.min(prev, 0) - 1;
    this.streak.set(ep, streak);
    if (ep.activeHealthy && streak <= -this.s.unhealthyThreshold) {
      ep.activeHealthy = false;
      this.onChange(ep, false);
    } else if (!ep.activeHealthy && streak >= this.s.healthyThreshold) {
      ep.activeHealthy = true;
      this.onChange(ep, true);
    }
  }
}
