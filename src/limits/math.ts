/**
 * The bucket math of the memory store, written once in TypeScript. `redis.ts` carries the same
 * math in Lua; the conformance suite runs both against the same expectations.
 * See `types.ts` for the scaled-integer representation.
 */
import {
  type BucketResult,
  type BudgetWindow,
  type Decision,
  MAX_SCALED,
  type ReserveBucket,
} from "./types.js";

const DAY_MS = 86_400_000;

/** Start and end (ms since epoch, UTC) of the calendar window holding `nowMs`. Weeks start on Monday. */
export function windowBounds(nowMs: number, window: BudgetWindow): { startMs: number; endMs: number } {
  const day = Math.floor(nowMs / DAY_MS);
  if (window === "day") return { startMs: day * DAY_MS, endMs: (day + 1) * DAY_MS };
  if (window === "week") {
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is the number of days since Monday.
    const monday = day - ((((day + 3) % 7) + 7) % 7);
    return { startMs: monday * DAY_MS, endMs: (monday + 7) * DAY_MS };
  }
  const d = new Date(nowMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return { startMs: Date.UTC(y, m, 1), endMs: Date.UTC(y, m + 1, 1) };
}

/** A rate bucket's level after refilling from `tsMs` to `nowMs` (never below 0). */
export function refilled(level: number, tsMs: number, nowMs: number, capacity: number): number {
  const elapsed = nowMs - tsMs;
  if (elapsed <= 0) return level;
  const drained = elapsed * capacity;
  return drained >= level ? 0 : level - drained;
}

/** Ms until a rate bucket of `level` is full again. */
export function msToFull(level: number, capacity: number): number {
  return level <= 0 ? 0 : Math.ceil(level / capacity);
}

export interface Evaluation {
  fits: boolean;
  /** Ms until it fits (0 when it fits now; time to reset when it never can). */
  waitMs: number;
  exceeds: boolean;
}

/** Whether `cost` fits a rate bucket at `level`, and how long until it does. */
export function evaluateRate(level: number, cost: number, capacity: number, periodMs: number): Evaluation {
  const max = capacity * periodMs;
  const need = cost * periodMs;
  if (level + need <= max) return { fits: true, waitMs: 0, exceeds: false };
  if (need > max) return { fits: false, waitMs: msToFull(level, capacity), exceeds: true };
  return { fits: false, waitMs: Math.ceil((level + need - max) / capacity), exceeds: false };
}

/** Whether `cost` fits a window bucket that has `used` units, and how long until it does. */
export function evaluateWindow(used: number, cost: number, capacity: number, msToEnd: number): Evaluation {
  if (used + cost <= capacity) return { fits: true, waitMs: 0, exceeds: false };
  return { fits: false, waitMs: msToEnd, exceeds: cost > capacity };
}

/** Result fields for a rate bucket at `level` (after any charge). */
export function rateView(level: number, capacity: number, periodMs: number) {
  return {
    remaining: Math.floor((capacity * periodMs - level) / periodMs),
    resetMs: msToFull(level, capacity),
  };
}

/** Combines per-bucket evaluations into the decision (the same rule as the Lua script). */
export function combine(
  buckets: readonly ReserveBucket[],
  evals: readonly Evaluation[],
): { allowed: boolean; retryAfterMs: number; exceedsCapacity: boolean } {
  let allowed = true;
  let retryAfterMs = 0;
  let exceedsCapacity = false;
  for (let i = 0; i < buckets.length; i++) {
    const e = evals[i]!;
    if (buckets[i]!.mode !== "enforce" || e.fits) continue;
    allowed = false;
    if (e.waitMs > retryAfterMs) retryAfterMs = e.waitMs;
    if (e.exceeds) exceedsCapacity = true;
  }
  return { allowed, retryAfterMs, exceedsCapacity };
}

/** A decision that lets everything through (no buckets, or the store failed in fail-open mode). */
export function openDecision(degraded: boolean): Decision {
  return degraded
    ? { allowed: true, retryAfterMs: 0, exceedsCapacity: false, buckets: [], wouldBlock: [], degraded }
    : { allowed: true, retryAfterMs: 0, exceedsCapacity: false, buckets: [], wouldBlock: [] };
}

export function wouldBlockOf(results: readonly BucketResult[]): string[] {
  const out: string[] = [];
  for (const r of results) if (r.mode === "dry_run" && !r.fits) out.push(r.key);
  return out;
}

/** Checks a request's buckets once, before any store sees them (bugs in planning, not user errors). */
export function validateBucket(b: {
  key: string;
  capacity: number;
  refill: ReserveBucket["refill"];
  cost?: number;
}): void {
  if (b.cost !== undefined && (!Number.isSafeInteger(b.cost) || b.cost < 0)) {
    throw new RangeError(`bucket ${b.key}: cost must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(b.capacity) || b.capacity <= 0) {
    throw new RangeError(`bucket ${b.key}: capacity must be a positive integer`);
  }
  const scaled = b.refill.type === "rate" ? b.capacity * b.refill.periodMs : b.capacity;
  if (b.refill.type === "rate" && (!Number.isSafeInteger(b.refill.periodMs) || b.refill.periodMs <= 0)) {
    throw new RangeError(`bucket ${b.key}: periodMs must be a positive integer`);
  }
  if (scaled > MAX_SCALED) throw new RangeError(`bucket ${b.key}: capacity × periodMs exceeds 2^51`);
}
