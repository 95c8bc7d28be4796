/**
 * The one conformance suite of `RateLimitStore`, run over every adapter with the real clock.
 * Each test uses its own keys, so adapters may share one store across tests.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { windowBounds } from "../../src/limits/math.js";
import type { RateLimitStore, ReserveBucket } from "../../src/limits/types.js";

export type StoreFactory = () => RateLimitStore;

const MIN = 60_000;

function rate(
  key: string,
  capacity: number,
  cost: number,
  periodMs = MIN,
  mode: ReserveBucket["mode"] = "enforce",
) {
  return { key, kind: "tokens", capacity, refill: { type: "rate", periodMs }, cost, mode } as const;
}

function budget(key: string, capacity: number, cost: number) {
  return {
    key,
    kind: "budget",
    capacity,
    refill: { type: "window", window: "month" },
    cost,
    mode: "enforce",
  } as const;
}

async function remaining(store: RateLimitStore, b: ReserveBucket): Promise<number> {
  const d = await store.reserve({ buckets: [{ ...b, cost: 0 }] });
  return d.buckets[0]!.remaining;
}

export function conformance(name: string, factory: StoreFactory): void {
  const k = (s: string) => `${name}:${randomUUID()}:${s}`;

  test(`${name}: an empty request is allowed without buckets`, async () => {
    const d = await factory().reserve({ buckets: [] });
    assert.equal(d.allowed, true);
    assert.deepEqual(d.buckets, []);
  });

  test(`${name}: takes cost until the capacity, then rejects with the exact wait`, async () => {
    const store = factory();
    const b = rate(k("rpm"), 3, 1);
    const rem: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = await store.reserve({ buckets: [b] });
      assert.equal(d.allowed, true);
      rem.push(d.buckets[0]!.remaining);
    }
    assert.deepEqual(rem, [2, 1, 0]);
    const d = await store.reserve({ buckets: [b] });
    assert.equal(d.allowed, false);
    assert.equal(d.exceedsCapacity, false);
    assert.equal(d.buckets[0]!.charged, 0);
    // One unit comes back every 20 s; a few ms passed since the first take.
    assert.ok(d.retryAfterMs > 19_000 && d.retryAfterMs <= 20_000, String(d.retryAfterMs));
    assert.ok(d.buckets[0]!.resetMs > 59_000 && d.buckets[0]!.resetMs <= 60_000);
  });

  test(`${name}: a rejected request becomes allowed exactly when retryAfterMs has passed`, async () => {
    const store = factory();
    const b = rate(k("fast"), 2, 1, 400);
    await store.reserve({ buckets: [b] });
    await store.reserve({ buckets: [b] });
    const d = await store.reserve({ buckets: [b] });
    assert.equal(d.allowed, false);
    assert.ok(d.retryAfterMs > 150 && d.retryAfterMs <= 200, String(d.retryAfterMs));
    await sleep(d.retryAfterMs + 2);
    assert.equal((await store.reserve({ buckets: [b] })).allowed, true);
  });

  test(`${name}: all or nothing across enforced buckets`, async () => {
    const store = factory();
    const a = rate(k("a"), 10, 2);
    const b = rate(k("b"), 2, 2);
    assert.equal((await store.reserve({ buckets: [a, b] })).allowed, true);
    const d = await store.reserve({ buckets: [a, b] });
    assert.equal(d.allowed, false);
    assert.deepEqual(
      d.buckets.map((x) => [x.fits, x.charged]),
      [
        [true, 0],
        [false, 0],
      ],
    );
    assert.equal(await remaining(store, a), 8, "the bucket that fitted was not charged");
  });

  test(`${name}: dry-run buckets report, never block, and are charged only when they fit`, async () => {
    const store = factory();
    const a = rate(k("a"), 3, 1);
    const dry = rate(k("dry"), 1, 1, MIN, "dry_run");
    const d1 = await store.reserve({ buckets: [a, dry] });
    assert.equal(d1.allowed, true);
    assert.deepEqual(d1.wouldBlock, []);
    assert.equal(d1.buckets[1]!.charged, 1);
    const d2 = await store.reserve({ buckets: [a, dry] });
    assert.equal(d2.allowed, true);
    assert.deepEqual(d2.wouldBlock, [dry.key]);
    assert.equal(d2.buckets[1]!.charged, 0);
    assert.equal(await remaining(store, dry), 0);
    // Enforced rejection: nothing is charged, the dry-run bucket included.
    const dry2 = rate(k("dry2"), 5, 1, MIN, "dry_run");
    await store.reserve({ buckets: [a] });
    const d3 = await store.reserve({ buckets: [a, dry2] });
    assert.equal(d3.allowed, false);
    assert.equal(await remaining(store, dry2), 5);
  });

  test(`${name}: a cost above the capacity can never fit and says so`, async () => {
    const store = factory();
    const d = await store.reserve({ buckets: [rate(k("tpm"), 100, 101)] });
    assert.equal(d.allowed, false);
    assert.equal(d.exceedsCapacity, true);
    const w = await store.reserve({ buckets: [budget(k("budget"), 100, 101)] });
    assert.equal(w.exceedsCapacity, true);
  });

  test(`${name}: settle refunds, never more than was charged, and charges extra`, async () => {
    const store = factory();
    const b = rate(k("tpm"), 1_000, 0);
    const spec = { key: b.key, capacity: b.capacity, refill: b.refill };
    assert.equal((await store.reserve({ buckets: [{ ...b, cost: 300 }] })).allowed, true);
    assert.equal((await store.reserve({ buckets: [{ ...b, cost: 600 }] })).allowed, true);
    assert.equal(await remaining(store, b), 100);
    // Over-refund of the 300 reservation is cut to 300.
    await store.settle([{ ...spec, delta: -5_000, charged: 300 }]);
    assert.equal(await remaining(store, b), 400);
    await store.settle([{ ...spec, delta: -100, charged: 600 }]);
    assert.equal(await remaining(store, b), 500);
    // Refunds never lift a bucket above full.
    await store.settle([{ ...spec, delta: -600, charged: 600 }]);
    await store.settle([{ ...spec, delta: -600, charged: 600 }]);
    assert.equal(await remaining(store, b), 1_000);
    // Extra charge past capacity: remaining goes negative, capped at one capacity of debt.
    await store.settle([{ ...spec, delta: 1_200, charged: 0 }]);
    const r = await remaining(store, b);
    assert.ok(r <= -199 && r >= -200, String(r));
    await store.settle([{ ...spec, delta: 1_000_000, charged: 0 }]);
    assert.ok((await remaining(store, b)) >= -1_000);
  });

  test(`${name}: budgets count per calendar window and settle only into their window`, async () => {
    const store = factory();
    const b = budget(k("budget"), 100, 60);
    const spec = { key: b.key, capacity: b.capacity, refill: b.refill };
    const before = Date.now();
    const d = await store.reserve({ buckets: [b] });
    const after = Date.now();
    const r = d.buckets[0]!;
    assert.equal(d.allowed, true);
    assert.equal(r.remaining, 40);
    const { startMs, endMs } = windowBounds(before, "month");
    assert.equal(r.windowStartMs, startMs);
    assert.ok(r.resetMs <= endMs - before + 50 && r.resetMs >= endMs - after - 50, String(r.resetMs));
    const d2 = await store.reserve({ buckets: [b] });
    assert.equal(d2.allowed, false);
    assert.equal(d2.exceedsCapacity, false);
    assert.ok(Math.abs(d2.retryAfterMs - d2.buckets[0]!.resetMs) <= 1);
    await store.settle([{ ...spec, delta: -50, charged: 60, windowStartMs: startMs - 1 }]);
    assert.equal(await remaining(store, b), 40, "an adjustment for another window is dropped");
    await store.settle([{ ...spec, delta: -50, charged: 60, windowStartMs: startMs }]);
    assert.equal(await remaining(store, b), 90);
  });

  test(`${name}: concurrency leases: limit, release, expiry`, async () => {
    const store = factory();
    const key = k("conc");
    const a = await store.acquire(key, 2, 60_000);
    const b = await store.acquire(key, 2, 60_000);
    assert.ok(a && b && a !== b);
    assert.equal(await store.acquire(key, 2, 60_000), null);
    await store.release(key, a);
    await store.release(key, a); // twice is harmless
    const c = await store.acquire(key, 2, 60_000);
    assert.ok(c);
    assert.equal(await store.acquire(key, 2, 60_000), null);
    const short = k("short");
    assert.ok(await store.acquire(short, 1, 100));
    assert.equal(await store.acquire(short, 1, 100), null);
    await sleep(130);
    assert.ok(await store.acquire(short, 1, 100), "an expired lease frees its slot");
  });
}
