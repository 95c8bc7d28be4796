import { abortReason, RequestContext } from "../core/context.js";
import { toGatewayError } from "../core/errors.js";
import type { RouteRequest, RouteResult } from "../core/types.js";
import type { RouterObserver } from "../routing/observer.js";
import type { Router } from "../routing/router.js";
import { type Batch, type BatchRunner, MicroBatcher } from "./batcher.js";
import type { BatchCodec, BatchMember } from "./codec.js";
import { embeddingsCodec } from "./embeddings.js";
import { kserveCodec } from "./kserve.js";
import { estimateItemTokens, type ItemCounter, simItemTokens } from "./usage.js";

export interface BatchingDeps {
  router: Pick<Router, "execute" | "pool">;
  /** Receives `batch` reports (metrics); nothing is reported without one. */
  observer?: Pick<RouterObserver, "batch">;
}

type Settled = PromiseSettledResult<RouteResult>;

/** The result of a member that left before its batch answered (never delivered to anyone). */
const LEFT: Settled = { status: "rejected", reason: undefined };

/**
 * The front door's way to the router for models with `batching:`. Requests of a batched model are
 * queued per model and compatibility key; each flushed batch is ONE `Router.execute` call, so
 * retries, fallbacks, breakers and admission apply to the batch as a whole. Other requests go
 * straight to the router.
 */
export class BatchingFront {
  private readonly codecs = new Map<string, BatchCodec<BatchMember>>();
  private readonly batchers = new Map<string, MicroBatcher<BatchMember, RouteResult>>();

  constructor(private readonly deps: BatchingDeps) {
    this.register(
      "embedding",
      embeddingsCodec((model) => this.counterFor(model)),
    );
    this.register("infer", kserveCodec());
  }

  /** Makes requests of `op` batchable with `codec` (for models that have `batching:`). */
  register<M extends BatchMember>(op: string, codec: BatchCodec<M>): void {
    this.codecs.set(op, codec as unknown as BatchCodec<BatchMember>);
  }

  /** Requests waiting in batch queues right now (all models). */
  get queued(): number {
    let n = 0;
    for (const b of this.batchers.values()) n += b.queued;
    return n;
  }

  /** Runs a request: through its model's batch queue when the model batches this operation, else directly. */
  execute(req: RouteRequest, ctx: RequestContext): Promise<RouteResult> {
    const settings = this.deps.router.pool(req.model)?.cfg.batching;
    const codec = settings ? this.codecs.get(req.op) : undefined;
    const prepared = codec?.prepare(req, ctx);
    if (!settings || !codec || !prepared) return this.deps.router.execute(req, ctx);
    ctx.model = req.model;
    const batcher = this.batcherFor(req.op, req.model, codec);
    return batcher.submit(prepared.key, prepared.member, prepared.size, ctx.signal, ctx.deadlineAt, settings);
  }

  private batcherFor(
    op: string,
    model: string,
    codec: BatchCodec<BatchMember>,
  ): MicroBatcher<BatchMember, RouteResult> {
    const id = `${op}\u0001${model}`;
    let b = this.batchers.get(id);
    if (!b) {
      const observer = this.deps.observer;
      b = new MicroBatcher(this.runner(codec), (_key, items, delays) =>
        observer?.batch?.(model, items, delays),
      );
      this.batchers.set(id, b);
    }
    return b;
  }

  /** Token counts for sharing usage out: exact when every endpoint is a built-in sim, else estimated. */
  private counterFor(model: string): ItemCounter {
    const eps = this.deps.router.pool(model)?.endpoints ?? [];
    return eps.length > 0 && eps.every((e) => e.backend.kind === "sim") ? simItemTokens : estimateItemTokens;
  }

  private runner(codec: BatchCodec<BatchMember>): BatchRunner<BatchMember, RouteResult> {
    const router = this.deps.router;
    return async (batch) => {
      const members = batch.inputs;
      const only = members.length === 1 ? members[0] : undefined;
      // A batch of one is the caller's own request: its bytes, context and trace, untouched.
      if (only) return [await settle(router.execute(only.req, only.ctx))];
      const ctx = batchContext(batch, (members[0] as BatchMember).ctx);
      let result: RouteResult;
      try {
        result = await router.execute(codec.merge(members), ctx);
      } catch (err) {
        // The upstream refused the batch (a 4xx): one member's input may be at fault, so each
        // member is sent on its own and gets its own answer or its own error.
        if (toGatewayError(err).code === "upstream_rejected" && !batch.signal.aborted)
          return isolate(batch, router);
        throw err;
      } finally {
        ctx.finish();
      }
      return codec.split(result, members, batch.live).map((part, i) => {
        if (!part) return LEFT;
        const m = members[i] as BatchMember;
        m.ctx.endpoint = result.endpoint;
        if (part.kind === "json") m.ctx.usage = part.usage;
        return { status: "fulfilled", value: part };
      });
    };
  }
}

function settle(p: Promise<RouteResult>): Promise<Settled> {
  return p.then(
    (value): Settled => ({ status: "fulfilled", value }),
    (reason: unknown): Settled => ({ status: "rejected", reason }),
  );
}

/** Every member still waiting, each on its own with its own context. */
function isolate(batch: Batch<BatchMember>, router: BatchingDeps["router"]): Promise<Settled[]> {
  return Promise.all(
    batch.inputs.map((m, i) => (batch.live(i) ? settle(router.execute(m.req, m.ctx)) : LEFT)),
  );
}

/**
 * The context of a merged call: it joins the first member's trace, lives until the latest member
 * deadline, and aborts once every member has left.
 */
function batchContext(batch: Batch<BatchMember>, first: RequestContext): RequestContext {
  const ctx = new RequestContext({ traceparent: first.traceparent });
  const remaining = batch.deadlineAt - Date.now();
  if (Number.isFinite(remaining)) ctx.setDeadline(Math.max(1, Math.ceil(remaining)));
  if (batch.signal.aborted) ctx.abort(abortReason(batch.signal));
  else batch.signal.addEventListener("abort", () => ctx.abort(abortReason(batch.signal)), { once: true });
  return ctx;
}
