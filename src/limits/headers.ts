/** The OpenAI-style `x-ratelimit-*` headers, and the 429 error of a rejected decision. */
import { GatewayError } from "../core/errors.js";
import type { BucketResult, Decision } from "./types.js";

function fmtSeconds(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const frac = ms % 1000;
  if (frac === 0) return `${whole}s`;
  return `${whole}.${String(frac).padStart(3, "0").replace(/0+$/, "")}s`;
}

/** A duration in OpenAI's (Go's) format: `0s`, `20ms`, `1s`, `1.5s`, `6m0s`, `1h2m3s`. */
export function formatDuration(ms: number): string {
  const t = Math.max(0, Math.ceil(ms));
  if (t === 0) return "0s";
  if (t < 1000) return `${t}ms`;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = fmtSeconds(t % 60_000);
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}

/** The bucket that constrains most: fewest units left, then the longest until it is full. */
function tightest(buckets: readonly BucketResult[], kind: "requests" | "tokens"): BucketResult | undefined {
  let best: BucketResult | undefined;
  for (const b of buckets) {
    if (b.kind !== kind || b.mode !== "enforce") continue;
    if (
      !best ||
      b.remaining < best.remaining ||
      (b.remaining === best.remaining && b.resetMs > best.resetMs)
    ) {
      best = b;
    }
  }
  return best;
}

/** The header names of each kind, built once (not per response). */
const HEADER_NAMES = (["requests", "tokens"] as const).map((kind) => ({
  kind,
  limit: `x-ratelimit-limit-${kind}`,
  remaining: `x-ratelimit-remaining-${kind}`,
  reset: `x-ratelimit-reset-${kind}`,
}));

/**
 * `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` from the most constraining enforced
 * bucket of each kind (dry-run and budget buckets are not shown). Empty when nothing limits.
 */
export function rateLimitHeaders(decision: Decision): Record<string, string> {
  const h: Record<string, string> = {};
  for (const { kind, limit, remaining, reset } of HEADER_NAMES) {
    const b = tightest(decision.buckets, kind);
    if (!b) continue;
    h[limit] = String(b.limit);
    h[remaining] = String(Math.max(0, b.remaining));
    h[reset] = formatDuration(b.resetMs);
  }
  if (!decision.allowed) h["retry-after-ms"] = String(Math.max(1, Math.ceil(decision.retryAfterMs)));
  return h;
}

/** The 429 `rate_limited` error of a rejected decision; `retry-after` is the exact wait, rounded up. */
export function rateLimitedError(decision: Decision): GatewayError {
  const blocking = decision.buckets.filter((b) => b.mode === "enforce" && !b.fits);
  const names = blocking.map((b) => `${b.kind} ${b.key} (limit ${b.limit})`).join(", ");
  const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  const message = decision.exceedsCapacity
    ? `request needs more than a limit can ever hold: ${names}; lower max_tokens or the prompt`
    : `rate limit reached: ${names}`;
  return new GatewayError("rate_limited", message, { retryAfterSeconds });
}

/** The 429 of a concurrency slot that was full. */
export function concurrencyLimitedError(key: string, limit: number): GatewayError {
  return new GatewayError("rate_limited", `too many requests in flight (${key}, limit ${limit})`, {
    retryAfterSeconds: 1,
  });
}
