import { toGatewayError } from "../core/errors.js";
import type { RouteResult } from "../core/types.js";
import { type AttemptOptions, runAttempt } from "./attempt.js";
import type { Endpoint } from "./endpoint.js";

type Settled = { ok: true; value: RouteResult; idx: number } | { ok: false; error: unknown; idx: number };

/**
 * A hedged attempt: if the first copy has not answered after the pool's hedge delay, a second copy
 * goes to another endpoint (within the hedge budget); the first answer wins and the other is
 * cancelled. Streams hedge only up to their first event, which `runAttempt` waits for.
 */
export async function runHedged(o: AttemptOptions, tried: Set<Endpoint>): Promise<RouteResult> {
  const delay = o.pool.hedgeDelayMs() ?? 0;
  const controllers = [new AbortController()];
  const start = (opts: AttemptOptions, i: number): Promise<Settled> =>
    runAttempt({
      ...opts,
      signal: AbortSignal.any([o.ctx.signal, (controllers[i] as AbortController).signal]),
    }).then(
      (value) => ({ ok: true, value, idx: i }),
      (error: unknown) => ({ ok: false, error, idx: i }),
    );
  const pending = new Map<number, Promise<Settled>>([[0, start(o, 0)]]);
  let timer: NodeJS.Timeout | undefined;
  const fired = new Promise<"hedge">((resolve) => {
    timer = setTimeout(() => resolve("hedge"), delay);
  });
  const first = await Promise.race([pending.get(0) as Promise<Settled>, fired]);
  clearTimeout(timer);
  if (first !== "hedge") return unwrap(first);

  const second = o.pool.pick(tried);
  if (second && second !== o.endpoint && o.pool.hedgeBudget.tryWithdraw()) {
    tried.add(second);
    o.observer.hedge(o.pool.name);
    controllers.push(new AbortController());
    pending.set(1, start({ ...o, endpoint: second, hedge: true }, 1));
  }
  let lastError: unknown;
  while (pending.size > 0) {
    const done = await Promise.race(pending.values());
    pending.delete(done.idx);
    if (done.ok) {
      for (const [idx, p] of pending) {
        (controllers[idx] as AbortController).abort(toGatewayError(new Error("hedge lost")));
        void p.then((late) => {
          if (late.ok && late.value.kind === "stream") late.value.discard();
        });
      }
      return done.value;
    }
    lastError = done.error;
  }
  throw lastError;
}

function unwrap(s: Settled): RouteResult {
  if (s.ok) return s.value;
  throw s.error;
}
