import type { RequestContext } from "../core/context.js";
import { type SpanAttributes, SpanKindCode, StatusCode } from "./otlp.js";
import type { SpanParent, Tracer, TraceSpan } from "./tracing.js";

export type { SpanAttributes } from "./otlp.js";
export type { TraceSpan } from "./tracing.js";

/** Where an endpoint id points, for `server.address` / `server.port`. */
export interface EndpointAddress {
  address: string;
  port?: number;
}

export type ContextSpanKind = "server" | "consumer" | "internal";

interface State {
  span: TraceSpan;
  op: string | undefined;
  method: string | undefined;
  admitted: boolean;
}

const KINDS: Record<ContextSpanKind, number> = {
  server: SpanKindCode.server,
  consumer: SpanKindCode.consumer,
  internal: SpanKindCode.internal,
};

/** GenAI `gen_ai.operation.name` for a route. */
const OPERATIONS: Record<string, string> = {
  "/v1/chat/completions": "chat",
  "/v1/completions": "text_completion",
  "/v1/embeddings": "embeddings",
};

export function traceparentOf(span: TraceSpan): string {
  return `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`;
}

/** The remote parent a request context stands for (its incoming `traceparent`), if it has one. */
function parentOf(ctx: RequestContext): SpanParent | undefined {
  if (!ctx.parentSpanId) return undefined;
  return {
    spanId: ctx.parentSpanId,
    sampled: (Number.parseInt(ctx.traceFlags, 16) & 1) === 1,
    remote: true,
    traceState: ctx.tracestate,
  };
}

/** A span as the parent of its children (local: in this process). */
const localParent = (span: TraceSpan): SpanParent => ({
  spanId: span.spanId,
  sampled: span.sampled,
  remote: false,
  traceState: span.traceState,
});

/**
 * Spans of a gateway: one per request (or job run) keyed by its `RequestContext`, one client span per
 * upstream attempt under it (retries and hedges are siblings). The context span takes the ids the
 * `RequestContext` already has, so access lines, error bodies and the `traceparent` answered to the
 * client name the exported span.
 */
export class Spans {
  constructor(
    private readonly tracer: Tracer,
    private readonly addresses: ReadonlyMap<string, EndpointAddress>,
  ) {}

  /** Starts the span that stands for `ctx` (a job run, a pipeline step); `attributes` are copied. */
  startContextSpan(
    ctx: RequestContext,
    name: string,
    kind: ContextSpanKind,
    attributes: SpanAttributes,
  ): TraceSpan {
    return this.open(ctx, name, kind, { ...attributes });
  }

  /** The span of `ctx`; it keeps `attributes` as its own. */
  private open(
    ctx: RequestContext,
    name: string,
    kind: ContextSpanKind,
    attributes: SpanAttributes,
  ): TraceSpan {
    const span = this.tracer.start(
      name,
      KINDS[kind],
      ctx.traceId,
      ctx.spanId,
      parentOf(ctx),
      attributes,
      performance.timeOrigin + ctx.startedAt,
    );
    ctx.span = { span, op: undefined, method: undefined, admitted: false } satisfies State;
    return span;
  }

  /** The server span of an HTTP request. */
  startRequest(ctx: RequestContext, method: string, url: string): void {
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const span = this.open(ctx, `${method} ${path}`, "server", {
      "http.request.method": method,
      "url.path": path,
      "switchyard.request_id": ctx.requestId,
    });
    const state = ctx.span as State;
    state.method = method;
    const op = OPERATIONS[path];
    if (op) {
      state.op = op;
      span.setAttribute("gen_ai.operation.name", op);
    }
  }

  span(ctx: RequestContext): TraceSpan | undefined {
    return (ctx.span as State | undefined)?.span;
  }

  /** An event on the context's span (`auth`, `limits`, …). */
  event(ctx: RequestContext, name: string, attributes?: SpanAttributes): void {
    (ctx.span as State | undefined)?.span.addEvent(name, attributes);
  }

  /** Starts the client span of one upstream attempt; the caller ends it. */
  startAttempt(
    ctx: RequestContext,
    pool: string,
    endpoint: string,
    attempt: number,
    hedge: boolean,
  ): TraceSpan {
    const state = ctx.span as State | undefined;
    if (state && !state.admitted) {
      state.admitted = true;
      state.span.addEvent("switchyard.admitted", { "gen_ai.request.model": pool });
    }
    const op = state?.op ?? "chat";
    const addr = this.addresses.get(endpoint);
    const attributes: SpanAttributes = {
      "gen_ai.operation.name": op,
      "gen_ai.request.model": pool,
      "switchyard.endpoint": endpoint,
      "switchyard.attempt": attempt,
      "switchyard.hedge": hedge,
    };
    if (addr) {
      attributes["server.address"] = addr.address;
      if (addr.port !== undefined) attributes["server.port"] = addr.port;
    }
    const parent = state ? localParent(state.span) : parentOf(ctx);
    return this.tracer.start(
      `${op} ${pool}`,
      SpanKindCode.client,
      ctx.traceId,
      undefined,
      parent,
      attributes,
    );
  }

  endAttempt(span: TraceSpan, outcome: string, code: string | undefined): void {
    span.setAttribute("switchyard.outcome", outcome);
    if (code) span.setAttribute("error.type", code);
    if (outcome === "failure") span.setStatus(StatusCode.error, code);
    span.end();
  }

  /** Ends the span of an HTTP request with what the access line knows. */
  endRequest(ctx: RequestContext, route: string | undefined, status: number): void {
    const state = ctx.span as State | undefined;
    if (!state) return;
    const { span } = state;
    if (route) {
      span.setAttribute("http.route", route);
      if (state.method) span.updateName(`${state.method} ${route}`);
    }
    span.setAttribute("http.response.status_code", status);
    this.finish(ctx, state, status >= 500 ? (ctx.errorCode ?? "server_error") : undefined);
    if (ctx.errorCode && status < 500) span.setAttribute("error.type", ctx.errorCode);
    span.end();
  }

  /** Ends the context span of a job run or step; `errorCode` marks it failed. */
  endContextSpan(ctx: RequestContext, errorCode?: string): void {
    const state = ctx.span as State | undefined;
    if (!state) return;
    this.finish(ctx, state, errorCode);
    state.span.end();
  }

  private finish(ctx: RequestContext, state: State, errorCode: string | undefined): void {
    const { span } = state;
    if (ctx.model) span.setAttribute("gen_ai.request.model", ctx.model);
    if (ctx.endpoint) span.setAttribute("switchyard.endpoint", ctx.endpoint);
    if (ctx.usage) {
      span.setAttribute("gen_ai.usage.input_tokens", ctx.usage.prompt_tokens);
      span.setAttribute("gen_ai.usage.output_tokens", ctx.usage.completion_tokens);
    }
    if (ctx.ttftMs !== undefined) {
      span.addEvent("gen_ai.first_token", undefined, performance.timeOrigin + ctx.startedAt + ctx.ttftMs);
    }
    if (errorCode) {
      span.setAttribute("error.type", errorCode);
      span.setStatus(StatusCode.error, errorCode);
    }
    ctx.span = undefined;
  }
}
