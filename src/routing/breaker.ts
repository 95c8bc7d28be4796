export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerSettings {
  enabled: boolean;
  failureThreshold: number;
  openMs: number;
  halfOpenProbes: number;
}

/**
 * A circuit breaker for one endpoint: closed → open after `failureThreshold` consecutive failures →
 * half-open after `openMs`, letting `halfOpenProbes` requests through → closed when they all succeed,
 * open again on any failure.
 */
export class CircuitBreaker {
  private state_: BreakerState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probesOut = 0;
  private probesOk = 0;

  constructor(
    private readonly s: BreakerSettings,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void = () => {},
  ) {}

  state(now = Date.now()): BreakerState {
    if (this.state_ === "open" && now - this.openedAt >= this.s.openMs) this.move("half_open");
    return this.state_;
  }

  /** Whether a request may go to this endpoint now (does not take a probe slot). */
  canPass(now = Date.now()): boolean {
    if (!this.s.enabled) return true;
    const st = this.state(now);
    if (st === "closed") return true;
    if (st === "open") return false;
    return this.probesOut < this.s.halfOpenProbes;
  }

  /** Records that a request was sent (takes a probe slot while half-open). */
  onSend(): void {
    if (this.s.enabled && this.state_ === "half_open") this.probesOut++;
  }

  onSuccess(): void {
    if (!this.s.enabled) return;
    this.failures = 0;
    if (this.state_ === "half_open") {
      this.probesOk++;
      if (this.probesOk >= this.s.halfOpenProbes) this.move("closed");
    }
  }

  onFailure(now = Date.now()): void {
    if (!this.s.enabled) return;
    this.failures++;
    if (
      this.state_ === "half_open" ||
      (this.state_ === "closed" && this.failures >= this.s.failureThreshold)
    ) {
      this.openedAt = now;
      this.move("open");
    }
  }

  /** A request that ended without telling anything about health (4xx, cancelled) frees its probe slot. */
  onNeutral(): void {
    if (this.state_ === "half_open" && this.probesOut > 0) this.probesOut--;
  }

  private move(to: BreakerState): void {
    if (to === this.state_) return;
    const from = this.state_;
    this.state_ = to;
    this.probesOut = 0;
    this.probesOk = 0;
    if (to === "closed") this.failures = 0;
    this.onChange(from, to);
  }
}
