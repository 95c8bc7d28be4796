import type { ModelConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import type { ModelType } from "../core/types.js";
import { Admission } from "./admission.js";
import { type Balancer, createBalancer } from "./balancers/index.js";
import type { Endpoint } from "./endpoint.js";
import { HealthChecker } from "./health.js";
import { LatencyWindow } from "./latency.js";
import type { RouterObserver } from "./observer.js";
import { ExtraBudget } from "./window.js";

/** A public model name, the endpoints that serve it, and the policies that guard them. */
export class Pool {
  readonly type: ModelType;
  readonly balancer: Balancer;
  readonly admission: Admission;
  readonly retryBudget: ExtraBudget;
  readonly hedgeBudget: ExtraBudget;
  readonly latency = new LatencyWindow();
  readonly health: HealthChecker;

  constructor(
    readonly name: string,
    readonly cfg: ModelConfig,
    readonly endpoints: readonly Endpoint[],
    private readonly observer: RouterObserver,
  ) {
    this.type = cfg.type;
    this.balancer = createBalancer(cfg.balancer);
    this.admission = new Admission(cfg.admission);
    const r = cfg.retry;
    this.retryBudget = new ExtraBudget(r.budgetRatio, r.budgetMinPerSecond, r.budgetWindowMs);
    this.hedgeBudget = new ExtraBudget(cfg.hedge.maxExtraRatio, cfg.hedge.budgetMinPerSecond, 10_000);
    this.health = new HealthChecker(endpoints, cfg.healthCheck, (ep, ok) => observer.health(name, ep.id, ok));
  }

  /** An endpoint for the next attempt: an available one not tried yet, else any available one. */
  pick(tried: ReadonlySet<Endpoint>, now = Date.now()): Endpoint | undefined {
    const available = this.endpoints.filter((e) => e.available(now));
    if (available.length === 0) return undefined;
    const fresh = tried.size === 0 ? available : available.filter((e) => !tried.has(e));
    return this.balancer.pick(fresh.length > 0 ? fresh : available);
  }

  get ready(): boolean {
    return this.endpoints.some((e) => e.available());
  }

  /** The error when no endpoint can take a request: `circuit_open` when circuits or ejections keep them out. */
  unavailableError(): GatewayError {
    const now = Date.now();
    const tripped = this.endpoints.some((e) => e.breaker.state(now) !== "closed" || now < e.ejectedUntil);
    return tripped
      ? new GatewayError(
          "circuit_open",
          `every endpoint of '${this.name}' is unavailable (circuit open or ejected)`,
        )
      : new GatewayError("no_endpoint_available", `no endpoint of '${this.name}' is healthy`);
  }

  /** Ejects an endpoint unless that would take more than `maxEjectionPercent` of the pool out (one may always go). */
  maybeEject(ep: Endpoint, now = Date.now()): void {
    const ejected = this.endpoints.filter((e) => now < e.ejectedUntil).length;
    const share = ((ejected + 1) / this.endpoints.length) * 100;
    if (ejected > 0 && share > this.cfg.outlier.maxEjectionPercent) return;
    this.observer.ejected(this.name, ep.id, ep.eject(now));
  }

  /** The delay before a hedge: fixed, or the observed p95 latency to first byte. */
  hedgeDelayMs(): number | undefined {
    const h = this.cfg.hedge;
    if (!h.enabled || this.endpoints.length < 2) return undefined;
    if (h.delayMs !== undefined) return h.delayMs;
    const p95 = this.latency.quantile(0.95);
    return p95 === undefined ? undefined : Math.max(p95, h.minDelayMs);
  }

  snapshot() {
    const now = Date.now();
    return {
      model: this.name,
      type: this.type,
      balancer: this.cfg.balancer,
      ready: this.ready,
      inFlight: this.admission.running,
      queued: this.admission.waiting,
      endpoints: this.endpoints.map((e) => e.snapshot(now)),
    };
  }
}
