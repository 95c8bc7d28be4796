import {
  type Attributes,
  type Context,
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { RequestContext } from "../core/context.js";

/**
 * What `tracing.ts` (the one file that loads the OpenTelemetry SDK) hands to the instrumented code.
 * Everything here uses only `@opentelemetry/api`.
 */
export interface TracingEngine {
  readonly tracer: Tracer;
  /** The next span started takes these ids (undefined trace id: inherit or generate). */
  pinIds(traceId: string | undefined, spanId: string): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Where an endpoint id points, for `server.address` / `server.port`. */
export interface EndpointAddress {
  address: string;
  port?: number;
}

export type ContextSpanKind = "server" | "consumer" | "internal";

interface State {
  span: Span;
  op: string | undefined;
  method: string | undefined;
  admitted: boolean;
}

const KINDS: Record<ContextSpanKind, SpanKind> = {
  server: SpanKind.SERVER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/** GenAI `gen_ai.operation.name` for a route. */
const OPERATIONS: Record<string, string> = {
  "/v1/chat/completions": "chat",
  "/v1/completions": "text_completion",
  "/v1/embeddings": "embeddings",
};

export function traceparentOf(span: Span): string {
  const sc = span.spanContext();
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & TraceFlags.SAMPLED ? "01" : "00"}`;
}

/** The remote parent a request context stands for (its incoming `traceparent`), or the root. */
function parentOf(ctx: RequestContext, tracestate: string | undefined): Context {
  if (!ctx.parentSpanId) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: ctx.traceId,
    spanId: ctx.parentSpanId,
    traceFlags: Number.parseInt(ctx.traceFlags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    traceState: tracestate ? createTraceState(tracestate) : undefined,
  });
}

/**
 * Spans of a gateway: one per request (or job run) keyed by its `RequestContext`, one client span per
 * upstream attempt under it (retries and hedges are siblings). The context span takes the ids the
 * `RequestContext` already has, so access lines, error bodies and the `traceparent` answered to the
 * client name the exported span.
 */
export class Spans {
  private readonly states = new WeakMap<RequestContext, State>();

  constructor(
    private readonly engine: TracingEngine,
    private readonly addresses: ReadonlyMap<string, EndpointAddress>,
  ) {}

  /** Starts the span that stands for `ctx` (an incoming request, a job run, a pipeline step). */
  startContextSpan(
    ctx: RequestContext,
    name: string,
    kind: ContextSpanKind,
    attributes: Attributes,
    tracestate?: string,
  ): Span {
    this.engine.pinIds(ctx.parentSpanId ? undefined : ctx.traceId, ctx.spanId);
    const span = this.engine.tracer.startSpan(
      name,
      { kind: KINDS[kind], attributes, startTime: performance.timeOrigin + ctx.startedAt },
      parentOf(ctx, tracestate),
    );
    this.states.set(ctx, { span, op: undefined, method: undefined, admitted: false });
    return span;
  }

  /** The server span of an HTTP request. */
  startRequest(ctx: RequestContext, method: string, url: string, tracestate: string | undefined): void {
    const path = url.split("?")[0] ?? url;
    const span = this.startContextSpan(
      ctx,
      `${method} ${path}`,
      "server",
      { "http.request.method": method, "url.path": path, "switchyard.request_id": ctx.requestId },
      tracestate,
    );
    const state = this.states.get(ctx) as State;
    state.method = method;
    const op = OPERATIONS[path];
    if (op) {
      state.op = op;
      span.setAttribute("gen_ai.operation.name", op);
    }
  }

  span(ctx: RequestContext): Span | undefined {
    return this.states.get(ctx)?.span;
  }

  /** An event on the context's span (`auth`, `limits`, …). */
  event(ctx: RequestContext, name: string, attributes?: Attributes): void {
    this.states.get(ctx)?.span.addEvent(name, attributes);
  }

  /** Starts the client span of one upstream attempt; the caller ends it. */
  startAttempt(ctx: RequestContext, pool: string, endpoint: string, attempt: number, hedge: boolean): Span {
    const state = this.states.get(ctx);
    if (state && !state.admitted) {
      state.admitted = true;
      state.span.addEvent("switchyard.admitted", { "gen_ai.request.model": pool });
    }
    const op = state?.op ?? "chat";
    const addr = this.addresses.get(endpoint);
    const attributes: Attributes = {
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
    const parent = state ? trace.setSpan(ROOT_CONTEXT, state.span) : parentOf(ctx, undefined);
    return this.engine.tracer.startSpan(`${op} ${pool}`, { kind: SpanKind.CLIENT, attributes }, parent);
  }

  endAttempt(span: Span, outcome: string, code: string | undefined): void {
    span.setAttribute("switchyard.outcome", outcome);
    if (code) span.setAttribute("error.type", code);
    if (outcome === "failure") span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    span.end();
  }

  /** Ends the span of an HTTP request with what the access line knows. */
  endRequest(ctx: RequestContext, route: string | undefined, status: number): void {
    const state = this.states.get(ctx);
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
    const state = this.states.get(ctx);
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
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
    }
    this.states.delete(ctx);
  }
}
