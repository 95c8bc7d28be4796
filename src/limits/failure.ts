/**
 * The one place where "the limit store is down" becomes fail-open or fail-closed (`limits.failureMode`).
 */
import { type GatewayError, isGatewayError } from "../core/errors.js";
import { openDecision } from "./math.js";
import type { BucketMode, Decision, RateLimitStore, ReserveRequest } from "./types.js";

export type FailureMode = "open" | "closed";

/** Called once per request let through because the store failed (log a warning, count a metric). */
export type OnFailOpen = (err: GatewayError) => void;

function isUnavailable(err: unknown): err is GatewayError {
  return isGatewayError(err) && err.code === "rate_limit_store_unavailable";
}

/**
 * `store.reserve`, with the failure mode applied: when the store is unavailable, `open` returns an
 * allowed decision flagged `degraded: true` (no buckets, nothing to settle) after calling
 * `onFailOpen`; `closed` throws the 503 `rate_limit_store_unavailable`. Other errors propagate.
 */
export async function reserveWithFailureMode(
  store: RateLimitStore,
  req: ReserveRequest,
  mode: FailureMode,
  onFailOpen: OnFailOpen,
): Promise<Decision> {
  try {
    return await store.reserve(req);
  } catch (err) {
    if (mode === "open" && isUnavailable(err)) {
      onFailOpen(err);
      return openDecision(true);
    }
    throw err;
  }
}

export interface Lease {
  key: string;
  id: string;
}

export type ConcurrencyOutcome =
  | { ok: true; leases: Lease[]; wouldBlock: string[]; degraded: boolean }
  | { ok: false; blockedKey: string; limit: number; wouldBlock: string[] };

/**
 * Takes one slot of every concurrency key at once (in parallel: one round trip each, pipelined).
 * All or nothing over enforced slots: when one is full the others are given back. A full dry-run
 * slot is reported in `wouldBlock` and skipped. The failure mode applies as for `reserve`.
 */
export async function acquireConcurrency(
  store: RateLimitStore,
  slots: ReadonlyArray<{ key: string; limit: number; mode: BucketMode }>,
  ttlMs: number,
  mode: FailureMode,
  onFailOpen: OnFailOpen,
): Promise<ConcurrencyOutcome> {
  if (slots.length === 0) return { ok: true, leases: [], wouldBlock: [], degraded: false };
  const got = await Promise.allSettled(slots.map((s) => store.acquire(s.key, s.limit, ttlMs)));
  const leases: Lease[] = [];
  const wouldBlock: string[] = [];
  let failure: unknown;
  let blocked: { key: string; limit: number } | undefined;
  got.forEach((r, i) => {
    const s = slots[i]!;
    if (r.status === "rejected") failure ??= r.reason;
    else if (r.value !== null) leases.push({ key: s.key, id: r.value });
    else if (s.mode === "dry_run") wouldBlock.push(s.key);
    else blocked ??= s;
  });
  if (failure !== undefined || blocked !== undefined) await releaseConcurrency(store, leases);
  if (failure !== undefined) {
    if (mode === "open" && isUnavailable(failure)) {
      onFailOpen(failure);
      return { ok: true, leases: [], wouldBlock, degraded: true };
    }
    throw failure;
  }
  if (blocked) return { ok: false, blockedKey: blocked.key, limit: blocked.limit, wouldBlock };
  return { ok: true, leases, wouldBlock, degraded: false };
}

/** Gives leases back; never rejects (a lease the store cannot take back expires by its TTL). */
export async function releaseConcurrency(store: RateLimitStore, leases: readonly Lease[]): Promise<void> {
  await Promise.allSettled(leases.map((l) => store.release(l.key, l.id)));
}
