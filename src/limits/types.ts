/**
 * The `RateLimitStore` seam: one interface, two adapters (memory, Redis), one conformance suite.
 *
 * Bucket math (both adapters, identical): a token bucket kept as its *level* (how much is used),
 * in whole numbers. A rate bucket refills `capacity` units every `periodMs`, continuously. To stay
 * exact without fractions, its level is stored in scaled units of `unit × ms`: taking `cost`
 * adds `cost × periodMs`, each elapsed millisecond removes `capacity`, and the bucket is full
 * (level 0) at most and exhausted at `capacity × periodMs`. Every value is an integer below 2^53,
 * so the math is exact in JavaScript and in Redis Lua alike (see `MAX_SCALED`).
 * A window bucket (budgets) never refills: it counts units used in the current calendar window
 * (UTC day, ISO week from Monday, or month) and starts again at 0 in the next one.
 */

export type BucketKind = "requests" | "tokens" | "budget";
export type BucketMode = "enforce" | "dry_run";
export type BudgetWindow = "day" | "week" | "month";

/** How a bucket gets its capacity back. */
export type Refill =
  /** Refills `capacity` every `periodMs`, continuously (a token bucket / GCRA). */
  | { readonly type: "rate"; readonly periodMs: number }
  /** Never refills; resets at the start of each calendar `window` (UTC) of the store's clock. */
  | { readonly type: "window"; readonly window: BudgetWindow };

/** Identifies one bucket and its shape (everything the store needs to apply the math). */
export interface BucketSpec {
  /** The bucket's key without the store's prefix, e.g. `tpm:model:llama-3-8b`. */
  readonly key: string;
  /** Whole units (requests or tokens) the bucket holds when full. */
  readonly capacity: number;
  readonly refill: Refill;
}

export interface ReserveBucket extends BucketSpec {
  readonly kind: BucketKind;
  /** Whole units to take (0 reads the bucket without changing it). */
  readonly cost: number;
  readonly mode: BucketMode;
}

export interface ReserveRequest {
  readonly buckets: readonly ReserveBucket[];
}

export interface BucketResult {
  readonly key: string;
  readonly kind: BucketKind;
  readonly mode: BucketMode;
  /** The bucket's capacity (`x-ratelimit-limit-*`). */
  readonly limit: number;
  /** Whole units left after this decision (negative when settlement charged past capacity). */
  readonly remaining: number;
  /** Ms until the bucket is full again (rate) or until the window ends (window). */
  readonly resetMs: number;
  /** Units actually taken from this bucket by this decision (0 or `cost`). */
  readonly charged: number;
  /** Whether this bucket alone could take the cost now. */
  readonly fits: boolean;
  /** Ms until this bucket alone could take the cost (0 when it fits; see `Decision.retryAfterMs`). */
  readonly waitMs: number;
  /** Window buckets: the start (ms since epoch, store clock) of the window that was charged. */
  readonly windowStartMs?: number;
}

export interface Decision {
  /** True when every enforced bucket could take its cost; then every enforced bucket was charged. */
  readonly allowed: boolean;
  /**
   * When not allowed: ms until every blocking enforced bucket holds enough (exact, if nothing else
   * takes from them meanwhile). When a cost can never fit (more than the capacity), the time to the
   * blocking bucket's reset, and `exceedsCapacity` is true. 0 when allowed.
   */
  readonly retryAfterMs: number;
  /** True when some blocking enforced bucket's cost exceeds its capacity: waiting does not help. */
  readonly exceedsCapacity: boolean;
  /** One result per requested bucket, in request order. */
  readonly buckets: readonly BucketResult[];
  /** Keys of dry-run buckets that would have blocked this request had they been enforced. */
  readonly wouldBlock: readonly string[];
  /** True when the store failed and the decision was made without it (fail-open). */
  readonly degraded?: boolean;
}

/**
 * Settles part of a reservation. `delta` < 0 refunds over-reservation, `delta` > 0 charges usage
 * beyond the estimate. `charged` is what the reservation took from this bucket: a refund larger
 * than it is cut to it. A refund never lifts a bucket above full. For window buckets,
 * `windowStartMs` (from the decision) must match the window in the store, else the adjustment is
 * dropped (the window it belonged to is over).
 */
export interface Adjustment extends BucketSpec {
  readonly delta: number;
  readonly charged: number;
  readonly windowStartMs?: number;
}

/**
 * Where counters live. Every method is one atomic step (one round trip for Redis). Methods reject
 * with a `GatewayError` coded `rate_limit_store_unavailable` when the store cannot be reached.
 */
export interface RateLimitStore {
  /**
   * All or nothing across the *enforced* buckets: if each fits, each is charged; otherwise none is.
   * Dry-run buckets are evaluated like enforced ones but never block: one is charged only when the
   * request is allowed *and* it fits itself, so its level is what it would be had it been enforced
   * on the traffic that was let through (never more than an enforced pass would charge).
   */
  reserve(req: ReserveRequest): Promise<Decision>;
  /** Applies adjustments atomically (one round trip). */
  settle(adjustments: readonly Adjustment[]): Promise<void>;
  /**
   * `reserve` and `settle` answered in the same turn, for a store that never waits (in memory): the
   * gate then admits a request without a promise. A store that can be unreachable leaves them out.
   */
  reserveSync?(req: ReserveRequest): Decision;
  settleSync?(adjustments: readonly Adjustment[]): void;
  /**
   * For a store that has to be reached: true when its recent answers showed every enforced bucket of
   * `req` with room to spare, so the reservation about to be made will almost surely be allowed and
   * the request may start before the answer. Counts `req` against that room (call it once per request).
   */
  claimRoom?(req: ReserveRequest): boolean;
  /**
   * Takes one in-flight slot of `key` if fewer than `limit` leases are live; returns a lease id, or
   * null when full. A lease expires by itself after `ttlMs` (a crashed process cannot leak a slot
   * for longer than that), so `ttlMs` must exceed the longest request it guards.
   */
  acquire(key: string, limit: number, ttlMs: number): Promise<string | null>;
  /** Gives a lease back (a no-op when it already expired). */
  release(key: string, leaseId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Largest scaled level (`capacity × periodMs`) and budget capacity the stores accept: below 2^53
 * with room for one extra capacity of debt, so every intermediate value is an exact integer.
 */
export const MAX_SCALED = 2 ** 51;
