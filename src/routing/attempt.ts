import { ContextCall } from "../backends/cancel.js";
import type { UpstreamCall } from "../backends/types.js";
import { extractUsage } from "../backends/usage.js";
import { abortReason, type RequestContext } from "../core/context.js";
import { GatewayError, toGatewayError } from "../core/errors.js";
import type { RouteRequest, RouteResult, StreamResult, Usage } from "../core/types.js";
import { isEndpointFailure } from "./classify.js";
import type { Endpoint } from "./endpoint.js";
import { type AttemptEnd, NO_GAPS, type RouterObserver } from "./observer.js";
import type { Pool } from "./pool.js";

const USAGE_OBJECT = /"usage"\s*:\s*\{/;

export interface AttemptOptions {
  pool: Pool;
  endpoint: Endpoint;
  req: RouteRequest;
  ctx: RequestContext;
  /** The attempt's own signal when it is not the request's (a hedge's child of it); unset: the request's. */
  signal?: AbortSignal;
  attempt: number;
  hedge: boolean;
  observer: RouterObserver;
  /** Called once when a stream this attempt started ends, however it ends (releases the admission slot). */
  onStreamEnd?: () => void;
}

/**
 * One attempt on one endpoint. For a stream it waits for the first event before it resolves, so a
 * stream that fails before its first token is still an ordinary (retryable) failure.
 */
export async function runAttempt(o: AttemptOptions): Promise<RouteResult> {
  const { endpoint: ep, ctx, req } = o;
  const end = o.observer.attemptStart(ctx, o.pool.name, ep.id, o.attempt, o.hedge);
  const call = buildCall(ep, req, ctx, end.traceparent, o.signal);
  ctx.endpoint = ep.id;
  ep.inFlight++;
  ep.onSend();
  const t0 = performance.now();
  let streaming = false;
  try {
    if (!req.stream) {
      const res = await ep.backend.invoke(call);
      recordFirstByte(o, performance.now() - t0);
      ep.onSuccess();
      end("success");
      ctx.usage = res.usage;
      return { kind: "json", payload: res.payload, usage: res.usage, endpoint: ep.id };
    }
    const upstream = await ep.backend.stream(call);
    const it = upstream.events[Symbol.asyncIterator]();
    const first = await it.next();
    const ms = performance.now() - t0;
    recordFirstByte(o, ms);
    if (ctx.ttftMs === undefined) ctx.ttftMs = performance.now() - ctx.startedAt;
    streaming = true;
    return followStream(first, it, req.clientWantsStreamUsage, o, end);
  } catch (err) {
    throw settleFailure(o, err, end);
  } finally {
    if (!streaming) ep.inFlight--;
  }
}

function recordFirstByte(o: AttemptOptions, ms: number): void {
  o.endpoint.observeLatency(ms);
  o.pool.latency.add(ms);
  o.observer.firstByte(o.ctx, o.pool.name, o.endpoint.id, ms);
}

/** True when the attempt was cancelled (its request, or for a hedge its own signal). */
function cancelled(o: AttemptOptions): boolean {
  return o.signal ? o.signal.aborted : o.ctx.aborted;
}

/** Why a cancelled attempt stopped: the request's reason first. */
function cancelReason(o: AttemptOptions): GatewayError {
  return o.ctx.aborted || !o.signal ? abortReason(o.ctx) : abortReason(o.signal);
}

/** Books a failed attempt against the endpoint's health and returns the error to throw. */
function settleFailure(o: AttemptOptions, err: unknown, end: AttemptEnd): GatewayError {
  if (cancelled(o)) {
    o.endpoint.onNeutral();
    end("neutral", "cancelled");
    return cancelReason(o);
  }
  const e = toGatewayError(err);
  if (isEndpointFailure(e)) {
    if (o.endpoint.onFailure(e.message)) o.pool.maybeEject(o.endpoint);
    end("failure", e.code);
  } else {
    o.endpoint.onNeutral();
    end("neutral", e.code);
  }
  return e;
}

/**
 * Builds the upstream call, keeping the client's bytes when nothing in the body has to change. Without
 * a `signal` of its own the call is cancelled by the request context itself.
 */
export function buildCall(
  endpoint: Endpoint,
  req: RouteRequest,
  ctx: RequestContext,
  traceparent = ctx.traceparent,
  signal?: AbortSignal,
): UpstreamCall {
  let body = req.body;
  let changed = false;
  if (endpoint.upstreamModel && endpoint.upstreamModel !== req.model) {
    body = { ...body, model: endpoint.upstreamModel };
    changed = true;
  } else if (body.model !== req.model) {
    body = { ...body, model: req.model };
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
  const raw = changed ? undefined : req.raw;
  const headers: Record<string, string> = { "x-request-id": ctx.requestId, traceparent };
  if (ctx.tracestate) headers.tracestate = ctx.tracestate;
  if (req.forwardHeaders) Object.assign(headers, req.forwardHeaders);
  if (!signal) return new ContextCall(req.op, body, raw, req.stream, headers, ctx.requestId, ctx);
  return { op: req.op, body, raw, stream: req.stream, headers, signal, requestId: ctx.requestId };
}

/** Follows a started stream: usage, the usage chunk the client did not ask for, and endpoint health at its end. */
function followStream(
  first: IteratorResult<string>,
  it: AsyncIterator<string>,
  clientWantsUsage: boolean,
  o: AttemptOptions,
  end: AttemptEnd,
): StreamResult {
  let usage: Usage | undefined;
  let started = false;
  let finished = false;
  const { ctx, endpoint: ep } = o;
  const keep = (data: string): boolean => {
    if (!USAGE_OBJECT.test(data)) return true;
    const parsed = safeParse(data);
    const u = extractUsage(parsed);
    if (!u) return true;
    usage = u;
    ctx.usage = u;
    const choices = (parsed as { choices?: unknown }).choices;
    return clientWantsUsage || !Array.isArray(choices) || choices.length > 0;
  };
  const finish = (outcome: "success" | "failure" | "neutral", code?: string): void => {
    if (finished) return;
    finished = true;
    ep.inFlight--;
    end(outcome, code);
    o.onStreamEnd?.();
    void it.return?.();
  };
  async function* follow(): AsyncGenerator<string> {
    started = true;
    let outcome: "success" | "failure" | "neutral" = "neutral";
    let code: string | undefined;
    try {
      if (!first.done) {
        if (keep(first.value)) yield first.value;
        // Inter-token latency: one timestamp per event, recorded into a shared per-pool recorder.
        const gap = o.observer.interTokenRecorder?.(o.pool.name) ?? NO_GAPS;
        let last = performance.now();
        for (;;) {
          const next = await it.next();
          if (next.done) break;
          const now = performance.now();
          gap(now - last);
          last = now;
          if (keep(next.value)) yield next.value;
        }
      }
      outcome = "success";
      ep.onSuccess();
    } catch (err) {
      const stopped = cancelled(o);
      const e = stopped ? cancelReason(o) : toGatewayError(err);
      code = e.code;
      if (!stopped && isEndpointFailure(e)) {
        outcome = "failure";
        if (ep.onFailure(e.message)) o.pool.maybeEject(ep);
      } else ep.onNeutral();
      throw e;
    } finally {
      finish(outcome, code);
    }
  }
  const events = follow();
  return {
    kind: "stream",
    events,
    usage: () => usage,
    endpoint: ep.id,
    discard: () => {
      if (started) void events.return(undefined);
      else finish("neutral", "discarded");
    },
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export { GatewayError };
