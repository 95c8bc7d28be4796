import { GatewayError } from "./errors.js";
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, requestIdFrom } from "./ids.js";
import type { Usage } from "./types.js";

/**
 * Everything a request carries through the gateway: ids, the trace it belongs to, its deadline and
 * the signal that aborts upstream work when the deadline passes or the client goes away.
 */
export class RequestContext {
  readonly requestId: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly traceFlags: string;
  readonly startedAt: number;
  readonly controller = new AbortController();
  deadlineAt = Number.POSITIVE_INFINITY;
  /** Filled in along the way for the access log and metrics. */
  model: string | undefined;
  endpoint: string | undefined;
  usage: Usage | undefined;
  ttftMs: number | undefined;
  errorCode: string | undefined;
  /** True once a stream's first byte went to the client (an error can no longer change the status). */
  streamStarted = false;
  /** Settles the request's limits and usage when it ends (set by the policy gate). */
  ticket: { finish(usage: Usage | null): void } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(headers: { traceparent?: string; requestId?: string }, now = performance.now()) {
    const parent = parseTraceparent(headers.traceparent);
    this.traceId = parent?.traceId ?? newTraceId();
    this.parentSpanId = parent?.parentSpanId;
    this.traceFlags = parent?.flags ?? "01";
    this.spanId = newSpanId();
    this.requestId = requestIdFrom(headers.requestId, this.traceId);
    this.startedAt = now;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The `traceparent` this request sends upstream and returns to the client. */
  get traceparent(): string {
    return formatTraceparent(this.traceId, this.spanId, this.traceFlags);
  }

  /** Arms the deadline: when it passes, the signal aborts with `deadline_exceeded`. */
  setDeadline(timeoutMs: number): void {
    this.clearDeadline();
    this.deadlineAt = Date.now() + timeoutMs;
    this.timer = setTimeout(() => {
      this.abort(new GatewayError("deadline_exceeded", `request deadline of ${timeoutMs} ms exceeded`));
    }, timeoutMs);
    this.timer.unref();
  }

  /** Milliseconds left before the deadline (Infinity when none is set). */
  remainingMs(): number {
    return this.deadlineAt - Date.now();
  }

  abort(reason: GatewayError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.clearDeadline();
  }

  /** Ends the request's life: clears the timer. Upstream work still running is aborted as no longer wanted. */
  finish(): void {
    this.clearDeadline();
  }

  private clearDeadline(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/** The reason a context's signal aborted, as a GatewayError. */
export function abortReason(signal: AbortSignal): GatewayError {
  const reason: unknown = signal.reason;
  if (reason instanceof GatewayError) return reason;
  return new GatewayError("client_closed_request", "request aborted");
}
