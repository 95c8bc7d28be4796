import type { Backend } from "../backends/types.js";
import { type BreakerSettings, type BreakerState, CircuitBreaker } from "./breaker.js";
import { SlidingCounter } from "./window.js";

export interface OutlierSettings {
  enabled: boolean;
  consecutiveFailures: number;
  failureRateThreshold: number;
  minRequests: number;
  windowMs: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectionPercent: number;
}

export interface EndpointEvents {
  breaker(endpoint: Endpoint, from: BreakerState, to: BreakerState): void;
}

/** One upstream replica in a pool, with the live figures balancers, health and readiness read. */
export class Endpoint {
  inFlight = 0;
  /** Smoothed latency to the first byte, in ms (0 until the first sample): a time-decayed peak EWMA. */
  ewmaMs = 0;
  /** Time constant of `ewmaMs`: a sample's weight falls to 1/e after this long (set by the pool's balancer). */
  ewmaDecayMs = 10_000;
  /** `performance.now()` of the last latency sample (0 = none yet). */
  private ewmaAt = 0;
  /** True once the endpoint left every pool: it takes no new requests and closes when idle. */
  retired = false;
  /** What identifies this endpoint's config (kind, URL, options): a reload or discovery keeps the object while it is unchanged. */
  configKey = "";
  /** Result of active health checks; true until a check says otherwise. */
  activeHealthy = true;
  ejectedUntil = 0;
  ejections = 0;
  consecutiveFailures = 0;
  lastError: string | undefined;
  readonly breaker: CircuitBreaker;
  private readonly requests: SlidingCounter;
  private readonly failures: SlidingCounter;

  constructor(
    readonly id: string,
    readonly backend: Backend,
    readonly weight: number,
    /** The model name the upstream knows, when it differs from the public name. */
    readonly upstreamModel: string | undefined,
    breaker: BreakerSettings,
    readonly outlier: OutlierSettings,
    events: EndpointEvents,
  ) {
    this.breaker = new CircuitBreaker(breaker, (from, to) => events.breaker(this, from, to));
    this.requests = new SlidingCounter(outlier.windowMs);
    this.failures = new SlidingCounter(outlier.windowMs);
  }

  /** Whether the endpoint may take a request now: not ejected, not failing checks, circuit letting it through. */
  available(now = Date.now()): boolean {
    return this.activeHealthy && now >= this.ejectedUntil && this.breaker.canPass(now);
  }

  /** For readiness: could take traffic now or soon (a half-open circuit counts). */
  get healthy(): boolean {
    return this.available();
  }

  /**
   * Records a latency sample: a peak jumps the average up at once; otherwise the sample is weighed by
   * the time since the previous one (weight 1 − e^(−Δt/τ)), so the average covers the last τ of time
   * whatever the request rate.
   */
  observeLatency(ms: number, now = performance.now()): void {
    if (this.ewmaAt === 0 || ms >= this.ewmaMs) {
      this.ewmaMs = ms;
    } else {
      const w = Math.exp(-(now - this.ewmaAt) / this.ewmaDecayMs);
      this.ewmaMs = this.ewmaMs * w + ms * (1 - w);
    }
    this.ewmaAt = Math.max(now, 1);
  }

  /**
   * The latency estimate for balancing, or undefined before the first sample. While no samples come
   * in, it fades towards 0 with the same time constant, so an endpoint that was slow (and so got no
   * traffic) is tried again after a while rather than never.
   */
  latencyEstimate(now = performance.now(), decayMs = this.ewmaDecayMs): number | undefined {
    if (this.ewmaAt === 0) return undefined;
    const idle = now - this.ewmaAt;
    return idle <= 0 ? this.ewmaMs : this.ewmaMs * Math.exp(-idle / decayMs);
  }

  onSend(): void {
    this.breaker.onSend();
  }

  onSuccess(now = Date.now()): void {
    this.consecutiveFailures = 0;
    this.lastError = undefined;
    this.requests.add(1, now);
    this.breaker.onSuccess();
  }

  onNeutral(): void {
    this.breaker.onNeutral();
  }

  /** Records a failure; returns true when outlier detection says this endpoint should be ejected. */
  onFailure(reason: string, now = Date.now()): boolean {
    this.consecutiveFailures++;
    this.lastError = reason;
    this.requests.add(1, now);
    this.failures.add(1, now);
    this.breaker.onFailure(now);
    if (!this.outlier.enabled || now < this.ejectedUntil) return false;
    if (this.consecutiveFailures >= this.outlier.consecutiveFailures) return true;
    const total = this.requests.total(now);
    return (
      total >= this.outlier.minRequests &&
      this.failures.total(now) / total >= this.outlier.failureRateThreshold
    );
  }

  /** Ejects for a time that grows with each ejection: base × n, capped. */
  eject(now = Date.now()): number {
    this.ejections++;
    const ms = Math.min(this.outlier.baseEjectionMs * this.ejections, this.outlier.maxEjectionMs);
    this.ejectedUntil = now + ms;
    this.consecutiveFailures = 0;
    return this.ejectedUntil;
  }

  /** A snapshot for `GET /admin/state`. */
  snapshot(now = Date.now()) {
    return {
      id: this.id,
      kind: this.backend.kind,
      weight: this.weight,
      available: this.available(now),
      activeHealthy: this.activeHealthy,
      breaker: this.breaker.state(now),
      ejected: now < this.ejectedUntil,
      ejectedUntil: now < this.ejectedUntil ? new Date(this.ejectedUntil).toISOString() : null,
      ejections: this.ejections,
      inFlight: this.inFlight,
      ewmaLatencyMs: Math.round(this.ewmaMs * 100) / 100,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError ?? null,
    };
  }
}

/**
 * Takes an endpoint out for good: it is already out of every pool's list (so it gets no new
 * requests); once its requests in flight have finished (or after `maxWaitMs`), its backend and
 * connections are closed.
 */
export async function retireEndpoint(ep: Endpoint, maxWaitMs = 600_000): Promise<void> {
  if (ep.retired) return;
  ep.retired = true;
  const until = Date.now() + maxWaitMs;
  while (ep.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25).unref());
  await ep.backend.close().catch(() => undefined);
}
