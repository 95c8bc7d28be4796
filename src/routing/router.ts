import { setTimeout as sleep } from "node:timers/promises";
import type { ErrorClass } from "../config/schema.js";
import { abortReason, type RequestContext } from "../core/context.js";
import { GatewayError, toGatewayError } from "../core/errors.js";
import type { ModelType, Operation, RouteRequest, RouteResult } from "../core/types.js";
import { parsePriority } from "./admission.js";
import { runAttempt } from "./attempt.js";
import { leafPools } from "./build.js";
import { errorClass } from "./classify.js";
import { type Endpoint, retireEndpoint } from "./endpoint.js";
import { runHedged } from "./hedge.js";
import { NOOP_OBSERVER, type RouterObserver } from "./observer.js";
import type { Pool } from "./pool.js";

const SERVES: Record<Operation, ModelType> = {
  chat: "chat",
  completion: "chat",
  embedding: "embedding",
  infer: "kserve",
};

/** Exponential backoff with full jitter: a random wait in [0, min(max, base × 2^(attempt-1))]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
}

/**
 * The one routing core. Every front door (HTTP, gRPC, job workers, pipeline steps) calls `execute`:
 * model → pool (admission) → balancer → endpoint → backend adapter, with retries, hedging and
 * fallbacks, and health, breakers and outlier ejection per endpoint.
 */
export class Router {
  constructor(
    private pools: ReadonlyMap<string, Pool>,
    private readonly observer: RouterObserver = NOOP_OBSERVER,
  ) {}

  /** Every endpoint of the current routing table (for reuse by a reload). */
  endpoints(): Endpoint[] {
    return leafPools(this.pools.values()).flatMap((p) => p.endpoints);
  }

  /**
   * Hot reload: starts the new pools (discovery answers once), then swaps them in at once. Requests
   * already running keep the pools they started on; the old pools stop, and endpoints the new table
   * does not reuse are closed once their requests in flight have finished.
   */
  async swap(next: ReadonlyMap<string, Pool>): Promise<void> {
    const fresh = leafPools(next.values());
    await Promise.all(fresh.map((p) => p.start()));
    const old = leafPools(this.pools.values());
    this.pools = next;
    const kept = new Set(fresh.flatMap((p) => p.endpoints));
    for (const p of old) {
      p.stop();
      for (const ep of p.endpoints) if (!kept.has(ep)) void retireEndpoint(ep);
    }
  }

  models(): Pool[] {
    return [...this.pools.values()];
  }

  pool(model: string): Pool | undefined {
    return this.pools.get(model);
  }

  /** Resolves the pool for a request or throws `model_not_found` / `model_wrong_type`. */
  resolve(op: Operation, model: string): Pool {
    const pool = this.pools.get(model);
    if (!pool) {
      throw new GatewayError("model_not_found", `The model '${model}' does not exist`, { param: "model" });
    }
    if (pool.type !== SERVES[op]) {
      throw new GatewayError(
        "model_wrong_type",
        `The model '${model}' is a ${pool.type} model and does not serve ${op}`,
        { param: "model" },
      );
    }
    return pool;
  }

  /** Starts health checks and discovery; resolves once every discovery has answered once. */
  start(): Promise<void> {
    return Promise.all(leafPools(this.pools.values()).map((p) => p.start())).then(() => undefined);
  }

  async close(): Promise<void> {
    const leaves = leafPools(this.pools.values());
    for (const p of leaves) p.stop();
    await Promise.all([...new Set(leaves.flatMap((p) => p.endpoints))].map((e) => e.backend.close()));
  }

  async execute(req: RouteRequest, ctx: RequestContext): Promise<RouteResult> {
    const pools = this.pools;
    const primary = this.resolve(req.op, req.model);
    ctx.model = req.model;
    primary.shadow?.maybeMirror(req, ctx, this.runShadow);
    try {
      return await this.onModel(primary, req, ctx);
    } catch (err) {
      let last = toGatewayError(err);
      for (const name of primary.cfg.fallbacks) {
        const cls = this.fallbackClass(primary, last, ctx);
        const next = pools.get(name);
        if (!cls || !next) throw last;
        this.observer.fallback(primary.name, name, cls);
        try {
          return await this.onModel(next, { ...req, model: name, raw: undefined }, ctx);
        } catch (e) {
          last = toGatewayError(e);
        }
      }
      throw last;
    }
  }

  private readonly runShadow = (pool: Pool, req: RouteRequest, ctx: RequestContext) =>
    this.onPool(pool, req, ctx);

  /** A model's pool, or for a model with versions the pool of the version this request goes to. */
  private onModel(pool: Pool, req: RouteRequest, ctx: RequestContext): Promise<RouteResult> {
    if (!pool.versions) return this.onPool(pool, req, ctx);
    const v = pool.versions.choose();
    return this.onPool(v.pool, v.model === req.model ? req : { ...req, model: v.model, raw: undefined }, ctx);
  }

  private fallbackClass(pool: Pool, err: GatewayError, ctx: RequestContext): ErrorClass | undefined {
    if (ctx.aborted) return undefined;
    const cls = errorClass(err);
    return cls && pool.cfg.fallbackOn.includes(cls) ? cls : undefined;
  }

  /** Runs a request on one pool: takes an admission slot, then attempts with retries. */
  private async onPool(pool: Pool, req: RouteRequest, ctx: RequestContext): Promise<RouteResult> {
    if (ctx.aborted) throw abortReason(ctx);
    const waiting = pool.admission.acquire(parsePriority(req.priority), ctx);
    if (waiting) {
      try {
        await waiting;
      } catch (err) {
        const e = toGatewayError(err);
        if (e.code === "overloaded") this.observer.shed(pool.name, e.message);
        throw ctx.aborted ? abortReason(ctx) : e;
      }
    }
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        pool.admission.release();
      }
    };
    try {
      const result = await this.withRetries(pool, req, ctx, release);
      if (result.kind === "json") release();
      return result;
    } catch (err) {
      release();
      throw err;
    }
  }

  private async withRetries(pool: Pool, req: RouteRequest, ctx: RequestContext, release: () => void) {
    const policy = req.retry ? { ...pool.cfg.retry, ...req.retry } : pool.cfg.retry;
    pool.retryBudget.recordRequest();
    pool.hedgeBudget.recordRequest();
    const tried = new Set<Endpoint>();
    for (let attempt = 1; ; attempt++) {
      const endpoint = pool.pick(tried, req);
      if (!endpoint) throw pool.unavailableError();
      tried.add(endpoint);
      const opts = {
        pool,
        endpoint,
        req,
        ctx,
        attempt,
        hedge: false,
        observer: this.observer,
        onStreamEnd: release,
      };
      try {
        return await (pool.hedgeDelayMs() === undefined ? runAttempt(opts) : runHedged(opts, tried));
      } catch (err) {
        if (ctx.aborted) throw abortReason(ctx);
        const e = toGatewayError(err);
        const cls = errorClass(e);
        if (!cls || !policy.on.includes(cls) || attempt >= policy.maxAttempts) throw e;
        let wait = backoffMs(attempt, policy.backoffBaseMs, policy.backoffMaxMs);
        if (e.retryAfterSeconds !== undefined) wait = Math.max(wait, e.retryAfterSeconds * 1000);
        if (wait >= ctx.remainingMs()) throw e;
        if (!pool.retryBudget.tryWithdraw()) {
          this.observer.retryBudgetExhausted(pool.name);
          throw e;
        }
        this.observer.retry(pool.name, cls);
        if (wait > 0) await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
        if (ctx.aborted) throw abortReason(ctx);
      }
    }
  }
}
