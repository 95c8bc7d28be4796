import { abortReason, RequestContext } from "../core/context.js";

/** A child context and the function that ends it (clears its timer, unhooks it from its parent). */
export interface ChildContext {
  readonly ctx: RequestContext;
  release(): void;
}

/**
 * A context for work done on behalf of `parent` (a pipeline run, a step, a `map` item): it joins the
 * parent's trace under `traceparent`, aborts when the parent aborts (with the parent's reason), and
 * has the parent's deadline, or `timeoutMs` when that is sooner.
 */
export function childContext(
  parent: RequestContext,
  opts: { requestId: string; traceparent: string; timeoutMs?: number },
): ChildContext {
  const ctx = new RequestContext({
    traceparent: opts.traceparent,
    tracestate: parent.tracestate,
    requestId: opts.requestId,
  });
  const remaining = parent.remainingMs();
  if (opts.timeoutMs !== undefined && opts.timeoutMs < remaining) ctx.setDeadline(opts.timeoutMs);
  else ctx.deadlineAt = parent.deadlineAt;
  if (parent.signal.aborted) {
    ctx.abort(abortReason(parent.signal));
    return { ctx, release: () => ctx.finish() };
  }
  const onAbort = () => ctx.abort(abortReason(parent.signal));
  parent.signal.addEventListener("abort", onAbort, { once: true });
  return {
    ctx,
    release() {
      parent.signal.removeEventListener("abort", onAbort);
      ctx.finish();
    },
  };
}
