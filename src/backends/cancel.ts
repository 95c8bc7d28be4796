import { type Cancellation, type RequestContext, signalCancellation } from "../core/context.js";
import type { Operation } from "../core/types.js";
import type { UpstreamCall } from "./types.js";

/**
 * An upstream call cancelled by its request context. `signal` is the context's AbortSignal, made
 * only when an adapter asks for it; adapters that take `cancellationOf(call)` hook into the context
 * directly and no signal is made at all.
 */
export class ContextCall implements UpstreamCall {
  constructor(
    readonly op: Operation,
    readonly body: Record<string, unknown>,
    readonly raw: Buffer | undefined,
    readonly stream: boolean,
    readonly headers: Record<string, string>,
    readonly requestId: string,
    readonly ctx: RequestContext,
  ) {}

  get signal(): AbortSignal {
    return this.ctx.signal;
  }
}

/** What cancels a call: its request context when it has one, else its signal. */
export function cancellationOf(call: UpstreamCall): Cancellation {
  return call instanceof ContextCall ? call.ctx : signalCancellation(call.signal);
}
