import type { ShadowConfig } from "../config/schema.js";
import { RequestContext } from "../core/context.js";
import type { RouteRequest, RouteResult } from "../core/types.js";
import type { RouterObserver } from "./observer.js";

export type ShadowOutcome = "success" | "failure" | "dropped";

/** What a shadow needs of a pool (the pool module itself is not imported: it owns the mirror). */
export interface ShadowTarget {
  readonly name: string;
}

/** Runs one request on a pool (the router's admission + retries path). */
export type PoolRunner<P extends ShadowTarget> = (
  pool: P,
  req: RouteRequest,
  ctx: RequestContext,
) => Promise<RouteResult>;

/**
 * Mirrors a share of a model's requests to another model. Fire and forget: the copy runs on its
 * own context and deadline, never awaited by the primary, always as a non-streaming call whose
 * answer is discarded; at most `maxConcurrent` copies run at once (more are dropped and counted),
 * so a slow shadow cannot pile up.
 */
export class ShadowMirror<P extends ShadowTarget> {
  private inFlight = 0;
  private readonly counts = { mirrored: 0, success: 0, failure: 0, dropped: 0 };
  private totalMs = 0;

  constructor(
    private readonly cfg: ShadowConfig,
    readonly target: P,
    private readonly from: string,
    private readonly observer: RouterObserver,
    private readonly random: () => number = Math.random,
  ) {}

  maybeMirror(req: RouteRequest, primary: RequestContext, run: PoolRunner<P>): void {
    if (this.cfg.ratio < 1 && this.random() >= this.cfg.ratio) return;
    if (this.inFlight >= this.cfg.maxConcurrent) {
      this.counts.dropped++;
      this.observer.shadow(this.target.name, "dropped", 0);
      return;
    }
    this.inFlight++;
    this.counts.mirrored++;
    const ctx = new RequestContext({
      traceparent: primary.traceparent,
      tracestate: primary.tracestate,
      requestId: `${primary.requestId}-shadow`,
    });
    ctx.setDeadline(this.cfg.timeoutMs);
    const { stream: _s, stream_options: _o, ...rest } = req.body;
    const copy: RouteRequest = {
      op: req.op,
      model: this.target.name,
      body: { ...rest, model: this.target.name },
      stream: false,
      clientWantsStreamUsage: false,
      priority: "low",
      forwardHeaders: req.forwardHeaders,
    };
    const t0 = performance.now();
    const settle = (outcome: ShadowOutcome) => {
      const ms = performance.now() - t0;
      this.inFlight--;
      this.counts[outcome]++;
      if (outcome === "success") this.totalMs += ms;
      ctx.finish();
      this.observer.shadow(this.target.name, outcome, ms);
    };
    // Started on a later turn so the primary's attempt goes out first.
    setImmediate(() => {
      run(this.target, copy, ctx).then(
        (res) => {
          if (res.kind === "stream") res.discard();
          settle("success");
        },
        () => settle("failure"),
      );
    });
  }

  snapshot() {
    return {
      from: this.from,
      model: this.target.name,
      ratio: this.cfg.ratio,
      inFlight: this.inFlight,
      ...this.counts,
      meanLatencyMs:
        this.counts.success > 0 ? Math.round((this.totalMs / this.counts.success) * 100) / 100 : null,
    };
  }
}
