import type { UpstreamCall } from "../backends/types.js";
import { extractUsage } from "../backends/usage.js";
import { abortReason, type RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import type { Operation, RouteRequest, RouteResult, StreamResult, Usage } from "../core/types.js";
import type { Endpoint } from "./endpoint.js";
import type { Pool } from "./pool.js";

const SERVES: Record<Operation, "chat" | "embedding"> = {
  chat: "chat",
  completion: "chat",
  embedding: "embedding",
};

const USAGE_OBJECT = /"usage"\s*:\s*\{/;

/**
 * The one routing core. Every front door (HTTP, gRPC, job workers, pipeline steps) calls
 * `execute`: model alias → pool → balancer → endpoint → backend adapter.
 */
export class Router {
  constructor(private readonly pools: ReadonlyMap<string, Pool>) {}

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
        {
          param: "model",
        },
      );
    }
    return pool;
  }

  async execute(req: RouteRequest, ctx: RequestContext): Promise<RouteResult> {
    const pool = this.resolve(req.op, req.model);
    ctx.model = req.model;
    const endpoint = pool.pick();
    if (!endpoint)
      throw new GatewayError("no_endpoint_available", `no endpoint available for '${req.model}'`);
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    return this.attempt(endpoint, req, ctx);
  }

  private async attempt(endpoint: Endpoint, req: RouteRequest, ctx: RequestContext): Promise<RouteResult> {
    ctx.endpoint = endpoint.id;
    const call = buildCall(endpoint, req, ctx);
    endpoint.inFlight++;
    try {
      if (!req.stream) {
        const res = await endpoint.backend.invoke(call);
        endpoint.markSuccess();
        ctx.usage = res.usage;
        return { kind: "json", payload: res.payload, usage: res.usage, endpoint: endpoint.id };
      }
      const upstream = await endpoint.backend.stream(call);
      endpoint.markSuccess();
      return wrapStream(upstream.events, req.clientWantsStreamUsage, endpoint, ctx);
    } catch (err) {
      if (err instanceof GatewayError && err.code === "upstream_unavailable")
        endpoint.markUnreachable(err.message);
      throw ctx.signal.aborted ? abortReason(ctx.signal) : err;
    } finally {
      if (!req.stream) endpoint.inFlight--;
    }
  }
}

/** Builds the upstream call, keeping the client's bytes when nothing in the body has to change. */
function buildCall(endpoint: Endpoint, req: RouteRequest, ctx: RequestContext): UpstreamCall {
  let body = req.body;
  let changed = false;
  if (endpoint.upstreamModel && endpoint.upstreamModel !== req.model) {
    body = { ...body, model: endpoint.upstreamModel };
    changed = true;
  }
  if (req.stream) {
    const opts = body.stream_options;
    const include =
      opts && typeof opts === "object" && (opts as { include_usage?: unknown }).include_usage === true;
    if (!include) {
      const base = opts && typeof opts === "object" ? (opts as Record<string, unknown>) : {};
      body = { ...body, stream_options: { ...base, include_usage: true } };
      changed = true;
    }
  }
  return {
    op: req.op,
    body,
    raw: changed ? undefined : req.raw,
    stream: req.stream,
    headers: { "x-request-id": ctx.requestId, traceparent: ctx.traceparent, ...req.forwardHeaders },
    signal: ctx.signal,
    requestId: ctx.requestId,
  };
}

/** Follows a stream: records time to first token and usage, and drops the usage chunk the client did not ask for. */
function wrapStream(
  events: AsyncIterable<string>,
  clientWantsUsage: boolean,
  endpoint: Endpoint,
  ctx: RequestContext,
): StreamResult {
  let usage: Usage | undefined;
  async function* follow(): AsyncGenerator<string> {
    try {
      for await (const data of events) {
        if (ctx.ttftMs === undefined) ctx.ttftMs = performance.now() - ctx.startedAt;
        if (USAGE_OBJECT.test(data)) {
          const parsed = safeParse(data);
          const u = extractUsage(parsed);
          if (u) {
            usage = u;
            ctx.usage = u;
            const choices = (parsed as { choices?: unknown }).choices;
            if (!clientWantsUsage && Array.isArray(choices) && choices.length === 0) continue;
          }
        }
        yield data;
      }
    } catch (err) {
      throw ctx.signal.aborted ? abortReason(ctx.signal) : err;
    } finally {
      endpoint.inFlight--;
    }
  }
  return { kind: "stream", events: follow(), usage: () => usage, endpoint: endpoint.id };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
