import type { EndpointConfig, ModelConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import type { ModelType, RouteRequest } from "../core/types.js";
import { Admission } from "./admission.js";
import { type Balancer, createBalancer } from "./balancers/index.js";
import type { Discovery } from "./discovery/index.js";
import { type Endpoint, retireEndpoint } from "./endpoint.js";
import { HealthChecker } from "./health.js";
import { LatencyWindow } from "./latency.js";
import type { RouterObserver } from "./observer.js";
import type { ShadowMirror } from "./shadow.js";
import type { VersionSplit } from "./versions.js";
import { ExtraBudget } from "./window.js";

/** Builds (or reuses, when its config is unchanged) the endpoint of a discovered config. */
export type EndpointFactory = (
  cfg: EndpointConfig,
  index: number,
  reuse: ReadonlyMap<string, Endpoint>,
) => Endpoint;

export interface PoolExtras {
  /** Canary: the pools of the model's versions; the router routes to one of them per request. */
  versions?: VersionSplit<Pool>;
  discovery?: Discovery;
  /** Makes endpoints for what discovery finds. */
  makeEndpoint?: EndpointFactory;
  /** Reports a discovery problem (the last good endpoint list stays). */
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/** A public model name, the endpoints that serve it, and the policies that guard them. */
export class Pool {
  readonly type: ModelType;
  readonly balancer: Balancer;
  readonly admission: Admission;
  readonly retryBudget: ExtraBudget;
  readonly hedgeBudget: ExtraBudget;
  readonly latency = new LatencyWindow();
  readonly health: HealthChecker;
  readonly versions: VersionSplit<Pool> | undefined;
  /** Mirrors a share of this model's requests to another model (set once the target pool exists). */
  shadow: ShadowMirror<Pool> | undefined;
  /** This pool's own endpoints, updated in place when discovery changes them. */
  private readonly own: Endpoint[];
  private readonly staticCount: number;

  constructor(
    readonly name: string,
    readonly cfg: ModelConfig,
    endpoints: readonly Endpoint[],
    private readonly observer: RouterObserver,
    private readonly extras: PoolExtras = {},
  ) {
    this.type = cfg.type;
    this.own = [...endpoints];
    this.staticCount = endpoints.length;
    this.versions = extras.versions;
    this.balancer = createBalancer(cfg.balancer);
    if (cfg.balancer.kind === "p2c_ewma") for (const ep of endpoints) ep.ewmaDecayMs = cfg.balancer.decayMs;
    this.admission = new Admission(cfg.admission);
    const r = cfg.retry;
    this.retryBudget = new ExtraBudget(r.budgetRatio, r.budgetMinPerSecond, r.budgetWindowMs);
    this.hedgeBudget = new ExtraBudget(cfg.hedge.maxExtraRatio, cfg.hedge.budgetMinPerSecond, 10_000);
    this.health = new HealthChecker(this.own, cfg.healthCheck, (ep, ok) => observer.health(name, ep.id, ok));
  }

  /** Every endpoint that serves this model: its own, or those of its versions. */
  get endpoints(): readonly Endpoint[] {
    return this.versions ? this.versions.endpoints() : this.own;
  }

  /** Starts health checks and discovery; resolves once discovery has answered once (or failed). */
  async start(): Promise<void> {
    this.health.start();
    const d = this.extras.discovery;
    if (!d) return;
    await d.start(
      (cfgs) => this.setDiscovered(cfgs),
      (err) =>
        this.extras.warn?.("endpoint discovery failed; keeping the last endpoints", {
          model: this.name,
          err,
        }),
    );
  }

  stop(): void {
    this.health.stop();
    this.extras.discovery?.stop();
  }

  /** Replaces the discovered endpoints: unchanged ones are kept, new ones built, removed ones drained and closed. */
  setDiscovered(cfgs: readonly EndpointConfig[]): void {
    const make = this.extras.makeEndpoint;
    if (!make) return;
    const current = this.own.slice(this.staticCount);
    const byKey = new Map(current.map((e) => [e.configKey, e]));
    const next = cfgs.map((c, i) => make(c, i, byKey));
    const keep = new Set(next);
    for (const ep of next)
      if (this.cfg.balancer.kind === "p2c_ewma") ep.ewmaDecayMs = this.cfg.balancer.decayMs;
    this.own.splice(this.staticCount, current.length, ...next);
    for (const ep of current) if (!keep.has(ep)) void retireEndpoint(ep);
  }

  /** An endpoint for the next attempt: an available one not tried yet, else any available one. */
  pick(tried: ReadonlySet<Endpoint>, req?: RouteRequest, now = Date.now()): Endpoint | undefined {
    const available = this.own.filter((e) => e.available(now));
    if (available.length === 0) return undefined;
    const fresh = tried.size === 0 ? available : available.filter((e) => !tried.has(e));
    return this.balancer.pick(fresh.length > 0 ? fresh : available, req);
  }

  get ready(): boolean {
    return this.endpoints.some((e) => e.available());
  }

  /** The error when no endpoint can take a request: `circuit_open` when circuits or ejections keep them out. */
  unavailableError(): GatewayError {
    const now = Date.now();
    const tripped = this.own.some((e) => e.breaker.state(now) !== "closed" || now < e.ejectedUntil);
    return tripped
      ? new GatewayError(
          "circuit_open",
          `every endpoint of '${this.name}' is unavailable (circuit open or ejected)`,
        )
      : new GatewayError("no_endpoint_available", `no endpoint of '${this.name}' is healthy`);
  }

  /** Ejects an endpoint unless that would take more than `maxEjectionPercent` of the pool out (one may always go). */
  maybeEject(ep: Endpoint, now = Date.now()): void {
    const ejected = this.own.filter((e) => now < e.ejectedUntil).length;
    const share = ((ejected + 1) / Math.max(1, this.own.length)) * 100;
    if (ejected > 0 && share > this.cfg.outlier.maxEjectionPercent) return;
    this.observer.ejected(this.name, ep.id, ep.eject(now));
  }

  /** The delay before a hedge: fixed, or the observed p95 latency to first byte. */
  hedgeDelayMs(): number | undefined {
    const h = this.cfg.hedge;
    if (!h.enabled || this.own.length < 2) return undefined;
    if (h.delayMs !== undefined) return h.delayMs;
    const p95 = this.latency.quantile(0.95);
    return p95 === undefined ? undefined : Math.max(p95, h.minDelayMs);
  }

  snapshot(): Record<string, unknown> {
    const now = Date.now();
    return {
      model: this.name,
      type: this.type,
      balancer: this.cfg.balancer.kind,
      ready: this.ready,
      inFlight: this.admission.running,
      queued: this.admission.waiting,
      endpoints: this.own.map((e) => e.snapshot(now)),
      ...(this.versions && { versions: this.versions.snapshot() }),
      ...(this.shadow && { shadow: this.shadow.snapshot() }),
    };
  }
}
