/**
 * The in-memory `RateLimitStore` (embedded default): one process, O(1) work per bucket, no timers.
 * Memory stays bounded: entries that hold no information any more (a rate bucket that has refilled,
 * a window that ended, a key with no live lease) are swept a couple per call, and past `maxKeys`
 * the oldest entry is dropped (a limit can then turn lax for that key, never stricter).
 */
import {
  combine,
  type Evaluation,
  evaluateRate,
  evaluateWindow,
  msToFull,
  rateView,
  refilled,
  validateBucket,
  windowBounds,
  wouldBlockOf,
} from "./math.js";
import type {
  Adjustment,
  BucketResult,
  Decision,
  RateLimitStore,
  ReserveBucket,
  ReserveRequest,
} from "./types.js";

interface RateEntry {
  t: "rate";
  /** Scaled level (unit × ms). */
  level: number;
  tsMs: number;
  expiresAtMs: number;
}
interface WindowEntry {
  t: "window";
  used: number;
  startMs: number;
  expiresAtMs: number;
}
interface LeaseEntry {
  t: "lease";
  /** lease id → expiry (ms). */
  leases: Map<string, number>;
  expiresAtMs: number;
}
type Entry = RateEntry | WindowEntry | LeaseEntry;

export interface MemoryStoreOptions {
  /** Most keys held at once (default 100 000). */
  maxKeys?: number;
  /** The clock, ms since epoch (tests pass a fake one). */
  now?: () => number;
}

/** Sweeps this many entries per call: enough to keep up with any rate of new keys. */
const SWEEP_PER_CALL = 2;

export class MemoryRateLimitStore implements RateLimitStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #now: () => number;
  #leaseSeq = 0;

  constructor(opts: MemoryStoreOptions = {}) {
    this.#maxKeys = opts.maxKeys ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Number of keys held (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  async reserve(req: ReserveRequest): Promise<Decision> {
    return this.reserveSync(req);
  }

  /** The same as `reserve`, synchronously (the memory store never waits). */
  reserveSync(req: ReserveRequest): Decision {
    const now = this.#now();
    this.#sweep(now);
    const buckets = req.buckets;
    const states: Array<{ level: number; startMs: number; endMs: number }> = [];
    const evals: Evaluation[] = [];
    for (const b of buckets) {
      validateBucket(b);
      const s = this.#read(b, now);
      states.push(s);
      evals.push(
        b.refill.type === "rate"
          ? evaluateRate(s.level, b.cost, b.capacity, b.refill.periodMs)
          : evaluateWindow(s.level, b.cost, b.capacity, s.endMs - now),
      );
    }
    const { allowed, retryAfterMs, exceedsCapacity } = combine(buckets, evals);
    const results: BucketResult[] = [];
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]!;
      const e = evals[i]!;
      const s = states[i]!;
      const charged = allowed && e.fits ? b.cost : 0;
      results.push(this.#apply(b, s, charged, e, now));
    }
    return { allowed, retryAfterMs, exceedsCapacity, buckets: results, wouldBlock: wouldBlockOf(results) };
  }

  async settle(adjustments: readonly Adjustment[]): Promise<void> {
    this.settleSync(adjustments);
  }

  /** The same as `settle`, synchronously. */
  settleSync(adjustments: readonly Adjustment[]): void {
    const now = this.#now();
    for (const a of adjustments) {
      validateBucket(a);
      const delta = Math.max(a.delta, -Math.max(0, a.charged));
      if (delta === 0) continue;
      if (a.refill.type === "rate") {
        const s = this.#read(a, now);
        const max = a.capacity * a.refill.periodMs;
        const level = Math.min(2 * max, Math.max(0, s.level + delta * a.refill.periodMs));
        this.#writeRate(a.key, level, now, a.capacity);
      } else {
        const s = this.#read(a, now);
        if (a.windowStartMs !== s.startMs) continue;
        const used = Math.min(2 * a.capacity, Math.max(0, s.level + delta));
        this.#put(a.key, { t: "window", used, startMs: s.startMs, expiresAtMs: s.endMs });
      }
    }
  }

  async acquire(key: string, limit: number, ttlMs: number): Promise<string | null> {
    const now = this.#now();
    this.#sweep(now);
    let e = this.#entries.get(key);
    if (e !== undefined && e.t !== "lease") throw new TypeError(`key ${key} is not a concurrency key`);
    if (e === undefined) e = { t: "lease", leases: new Map(), expiresAtMs: 0 };
    if (e.leases.size >= limit) {
      for (const [id, exp] of e.leases) if (exp <= now) e.leases.delete(id);
      if (e.leases.size >= limit) return null;
    }
    const id = String(++this.#leaseSeq);
    const exp = now + ttlMs;
    e.leases.set(id, exp);
    if (exp > e.expiresAtMs) e.expiresAtMs = exp;
    this.#put(key, e);
    return id;
  }

  async release(key: string, leaseId: string): Promise<void> {
    const e = this.#entries.get(key);
    if (e?.t !== "lease") return;
    e.leases.delete(leaseId);
    if (e.leases.size === 0) this.#entries.delete(key);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  /** Current level (rate: scaled; window: used) and window bounds of a bucket. */
  #read(b: { key: string; capacity: number; refill: ReserveBucket["refill"] }, now: number) {
    const e = this.#entries.get(b.key);
    if (b.refill.type === "rate") {
      const level = e?.t === "rate" ? refilled(e.level, e.tsMs, now, b.capacity) : 0;
      return { level, startMs: 0, endMs: 0 };
    }
    const { startMs, endMs } = windowBounds(now, b.refill.window);
    const used = e?.t === "window" && e.startMs === startMs ? e.used : 0;
    return { level: used, startMs, endMs };
  }

  #apply(
    b: ReserveBucket,
    s: { level: number; startMs: number; endMs: number },
    charged: number,
    e: Evaluation,
    now: number,
  ): BucketResult {
    // Object literals, not spreads: this runs for every bucket of every limited request.
    if (b.refill.type === "rate") {
      const level = s.level + charged * b.refill.periodMs;
      if (charged > 0) this.#writeRate(b.key, level, now, b.capacity);
      const view = rateView(level, b.capacity, b.refill.periodMs);
      return {
        key: b.key,
        kind: b.kind,
        mode: b.mode,
        limit: b.capacity,
        remaining: view.remaining,
        resetMs: view.resetMs,
        charged,
        fits: e.fits,
        waitMs: e.waitMs,
      };
    }
    const used = s.level + charged;
    if (charged > 0) this.#put(b.key, { t: "window", used, startMs: s.startMs, expiresAtMs: s.endMs });
    return {
      key: b.key,
      kind: b.kind,
      mode: b.mode,
      limit: b.capacity,
      remaining: b.capacity - used,
      resetMs: s.endMs - now,
      charged,
      fits: e.fits,
      waitMs: e.waitMs,
      windowStartMs: s.startMs,
    };
  }

  #writeRate(key: string, level: number, now: number, capacity: number): void {
    if (level === 0) {
      this.#entries.delete(key);
      return;
    }
    this.#put(key, { t: "rate", level, tsMs: now, expiresAtMs: now + msToFull(level, capacity) });
  }

  /** Stores an entry as the most recent one, dropping the oldest past `maxKeys`. */
  #put(key: string, e: Entry): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxKeys) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, e);
  }

  /** Looks at the oldest few entries: drops the ones that expired, moves the others to the back. */
  #sweep(now: number): void {
    for (let i = 0; i < SWEEP_PER_CALL; i++) {
      const first = this.#entries.entries().next();
      if (first.done) return;
      const [key, e] = first.value;
      this.#entries.delete(key);
      if (e.expiresAtMs > now) this.#entries.set(key, e);
    }
  }
}
