import { armDeadline, type DeadlineEntry, type DeadlineTarget, disarmDeadline } from "./deadlines.js";
import { GatewayError } from "./errors.js";
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, requestIdFrom } from "./ids.js";
import type { Usage } from "./types.js";

/** W3C trace context: a `tracestate` longer than this may be dropped, and is. */
export const MAX_TRACESTATE_CHARS = 512;
/** W3C trace context: `tracestate` is printable ASCII (keys, `=`, values, `,` and spaces). */
const TRACESTATE = /^[\x20-\x7e]*$/;

/** Something to call once when a request is cancelled (an object, so no closure is made per call). */
export interface AbortHook {
  handleEvent(): void;
}

/**
 * What an upstream call is cancelled by: a request context (a plain list of hooks) or an AbortSignal
 * (see `signalCancellation`). `aborted` and `reason` read like an AbortSignal's.
 */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Calls `hook.handleEvent()` once on abort; nothing when already aborted (check `aborted` first). */
  onAbort(hook: AbortHook): void;
  offAbort(hook: AbortHook): void;
}

/**
 * Everything a request carries through the gateway: ids, the trace it belongs to, its deadline and
 * the signal that aborts upstream work when the deadline passes or the client goes away. The
 * AbortSignal is made on first use: upstream calls listen through `onAbort` instead, which costs a
 * list entry rather than a signal and an event listener per request.
 */
export class RequestContext implements Cancellation, DeadlineTarget {
  readonly requestId: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly traceFlags: string;
  /**
   * The client's `tracestate`, carried with its `traceparent` (dropped without a valid one, over 512
   * characters or outside printable ASCII, as W3C allows): sent upstream with every attempt.
   */
  readonly tracestate: string | undefined;
  readonly startedAt: number;
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
  /** The span that stands for this context while tracing records it (kept by the observability module). */
  span: unknown;
  private deadline: DeadlineEntry | undefined;
  private tp: string | undefined;
  private ac: ContextController | undefined;
  private isAborted = false;
  private abortedWith: unknown;
  private hooks: AbortHook[] | undefined;

  constructor(
    headers: { traceparent?: string; tracestate?: string | string[]; requestId?: string },
    now = performance.now(),
  ) {
    const parent = parseTraceparent(headers.traceparent);
    const ts = headers.tracestate;
    const state = parent && ts !== undefined ? (typeof ts === "string" ? ts : ts.join(",")) : undefined;
    this.tracestate =
      state && state.length <= MAX_TRACESTATE_CHARS && TRACESTATE.test(state) ? state : undefined;
    this.traceId = parent?.traceId ?? newTraceId();
    this.parentSpanId = parent?.parentSpanId;
    this.traceFlags = parent?.flags ?? "01";
    this.spanId = newSpanId();
    this.requestId = requestIdFrom(headers.requestId, this.traceId);
    this.startedAt = now;
  }

  /** The controller behind `signal` (made on first use; already aborted when the request was). */
  get controller(): AbortController {
    let ac = this.ac;
    if (!ac) {
      ac = new ContextController(this);
      this.ac = ac;
      if (this.isAborted) ac.abort(this.abortedWith);
    }
    return ac;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the request was aborted (deadline, client gone, shutdown). */
  get aborted(): boolean {
    return this.isAborted;
  }

  /** Why the request was aborted (what `signal.reason` holds), undefined while it was not. */
  get reason(): unknown {
    return this.abortedWith;
  }

  onAbort(hook: AbortHook): void {
    if (this.aborted) return;
    if (this.hooks) this.hooks.push(hook);
    else this.hooks = [hook];
  }

  offAbort(hook: AbortHook): void {
    const hooks = this.hooks;
    if (!hooks) return;
    const i = hooks.indexOf(hook);
    if (i >= 0) hooks.splice(i, 1);
  }

  /** The `traceparent` this request sends upstream and returns to the client. */
  get traceparent(): string {
    this.tp ??= formatTraceparent(this.traceId, this.spanId, this.traceFlags);
    return this.tp;
  }

  /** Arms the deadline: when it passes, the signal aborts with `deadline_exceeded`. */
  setDeadline(timeoutMs: number): void {
    this.clearDeadline();
    this.deadlineAt = Date.now() + timeoutMs;
    this.deadline = armDeadline(this, timeoutMs);
  }

  /** Called by the deadline queue when the deadline passed. */
  deadlineExpired(timeoutMs: number): void {
    this.deadline = undefined;
    this.abort(new GatewayError("deadline_exceeded", `request deadline of ${timeoutMs} ms exceeded`));
  }

  /** Milliseconds left before the deadline (Infinity when none is set). */
  remainingMs(): number {
    return this.deadlineAt - Date.now();
  }

  abort(reason: GatewayError): void {
    if (this.ac) this.ac.abort(reason);
    else this.aborts(reason);
  }

  /** Records the abort (from `abort` or from the controller) and tells every hook, once. */
  aborts(reason: unknown): void {
    if (!this.isAborted) {
      this.isAborted = true;
      this.abortedWith = reason;
      this.runHooks();
    }
    this.clearDeadline();
  }

  /** Ends the request's life: clears the timer. Upstream work still running is aborted as no longer wanted. */
  finish(): void {
    this.clearDeadline();
  }

  private runHooks(): void {
    const hooks = this.hooks;
    if (!hooks) return;
    this.hooks = undefined;
    for (const h of hooks) h.handleEvent();
  }

  private clearDeadline(): void {
    const entry = this.deadline;
    if (entry) {
      this.deadline = undefined;
      disarmDeadline(entry);
    }
  }
}

/** A context's controller: however it is aborted, the context hears of it. */
class ContextController extends AbortController {
  constructor(private readonly ctx: RequestContext) {
    super();
  }

  override abort(reason?: unknown): void {
    if (!this.signal.aborted) super.abort(reason);
    this.ctx.aborts(this.signal.reason);
  }
}

/** The cancellation of an AbortSignal (an upstream call that is not tied to one request context). */
export function signalCancellation(signal: AbortSignal): Cancellation {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason() {
      return signal.reason as unknown;
    },
    onAbort: (hook) => signal.addEventListener("abort", hook, { once: true }),
    offAbort: (hook) => signal.removeEventListener("abort", hook),
  };
}

/** The reason a context (or its signal) aborted, as a GatewayError. */
export function abortReason(signal: { readonly reason: unknown }): GatewayError {
  const reason: unknown = signal.reason;
  if (reason instanceof GatewayError) return reason;
  return new GatewayError("client_closed_request", "request aborted");
}
