/** Property tests of the bucket math on the memory store, with a fake clock. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ANONYMOUS } from "../../src/auth/principal.js";
import { limitsConfigSchema } from "../../src/limits/config.js";
import { MemoryRateLimitStore } from "../../src/limits/memory.js";
import {
  type ActualUsage,
  planReservation,
  type ReservationPlan,
  settlementFor,
} from "../../src/limits/policy.js";
import type { Decision, ReserveBucket } from "../../src/limits/types.js";

const T0 = Date.UTC(2026, 10, 3, 12); // mid-month: budget windows never roll over in these runs

function clock() {
  let now = T0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const rateBucket = (key: string, capacity: number, periodMs: number, cost = 0): ReserveBucket => ({
  key,
  kind: "tokens",
  capacity,
  refill: { type: "rate", periodMs },
  cost,
  mode: "enforce",
});

const specArb = fc.record({
  capacity: fc.integer({ min: 1, max: 50 }),
  periodMs: fc.integer({ min: 1, max: 5_000 }),
});

type Op =
  | { t: "wait"; ms: number }
  | { t: "reserve"; costs: number[] }
  | { t: "refund"; pick: number; amount: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({
    t: fc.constant("reserve" as const),
    costs: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 3, maxLength: 3 }),
  }),
  fc.record({ t: fc.constant("refund" as const), pick: fc.nat(), amount: fc.integer({ min: 0, max: 80 }) }),
);

interface Event {
  at: number;
  /** Net units taken (cost admitted, or a refund as a negative number). */
  units: number;
  admission: boolean;
}

test("admitted cost in any window never exceeds capacity + refill; rejections change nothing", () => {
  fc.assert(
    fc.property(
      fc.array(specArb, { minLength: 3, maxLength: 3 }),
      fc.array(opArb, { maxLength: 80 }),
      (specs, ops) => {
        const c = clock();
        const store = new MemoryRateLimitStore({ now: c.now });
        const buckets = specs.map((s, i) => rateBucket(`b${i}`, s.capacity, s.periodMs));
        const events: Event[][] = buckets.map(() => []);
        const charges: Array<{ bucket: number; charged: number; refunded: number }> = [];
        const peek = () =>
          store
            .reserveSync({ buckets: buckets.map((b) => ({ ...b, cost: 0 })) })
            .buckets.map((r) => r.remaining);
        for (const op of ops) {
          if (op.t === "wait") c.advance(op.ms);
          else if (op.t === "reserve") {
            const before = peek();
            const req = buckets.map((b, i) => ({ ...b, cost: op.costs[i]! }));
            const d = store.reserveSync({ buckets: req });
            const after = peek();
            if (!d.allowed) {
              assert.deepEqual(after, before, "a rejection charges no bucket");
              // Exact retry-after: one ms earlier still rejected, at retryAfterMs admitted.
              if (!d.exceedsCapacity) {
                if (d.retryAfterMs > 1) {
                  c.advance(d.retryAfterMs - 1);
                  assert.equal(
                    store.reserveSync({ buckets: req }).allowed,
                    false,
                    "admitted before retryAfterMs",
                  );
                  c.advance(1);
                } else c.advance(d.retryAfterMs);
                const again = store.reserveSync({ buckets: req });
                assert.equal(again.allowed, true, "not admitted at retryAfterMs");
                req.forEach((b, i) => {
                  events[i]!.push({ at: c.now(), units: b.cost, admission: true });
                  charges.push({ bucket: i, charged: b.cost, refunded: 0 });
                });
              }
              continue;
            }
            req.forEach((b, i) => {
              assert.equal(after[i], before[i]! - b.cost, "every bucket charged exactly its cost");
              events[i]!.push({ at: c.now(), units: b.cost, admission: true });
              charges.push({ bucket: i, charged: b.cost, refunded: 0 });
            });
          } else if (charges.length > 0) {
            const ch = charges[op.pick % charges.length]!;
            const b = buckets[ch.bucket]!;
            const left = ch.charged - ch.refunded;
            const before = peek()[ch.bucket]!;
            // Ask for any refund, even more than is left: the store cuts it to `charged`.
            store.settleSync([
              { key: b.key, capacity: b.capacity, refill: b.refill, delta: -op.amount, charged: left },
            ]);
            const given = Math.min(op.amount, left);
            ch.refunded += given;
            const now = peek()[ch.bucket]!;
            assert.ok(now - before <= given, "a refund never gives back more than was charged");
            assert.ok(now <= b.capacity, "a refund never lifts a bucket above full");
            events[ch.bucket]!.push({ at: c.now(), units: -given, admission: false });
          }
        }
        // For every window [e_i, e_j] that ends with an admission:
        // net units × periodMs ≤ capacity × periodMs + capacity × (t_j − t_i)  (exact integers).
        buckets.forEach((b, bi) => {
          const ev = events[bi]!;
          const p = (b.refill as { periodMs: number }).periodMs;
          for (let i = 0; i < ev.length; i++) {
            let sum = 0;
            for (let j = i; j < ev.length; j++) {
              sum += ev[j]!.units;
              if (!ev[j]!.admission) continue;
              const bound = b.capacity * p + b.capacity * (ev[j]!.at - ev[i]!.at);
              assert.ok(sum * p <= bound, `bucket ${bi}: ${sum} units in ${ev[j]!.at - ev[i]!.at} ms`);
            }
          }
        });
      },
    ),
    { numRuns: 300 },
  );
});

test("a reservation refunded in full (or more) leaves the bucket as it was", () => {
  fc.assert(
    fc.property(
      specArb,
      fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 20 }),
      fc.nat(100),
      (s, costs, extra) => {
        const c = clock();
        const store = new MemoryRateLimitStore({ now: c.now });
        const b = rateBucket("b", s.capacity, s.periodMs);
        for (const cost of costs) {
          const before = store.reserveSync({ buckets: [b] }).buckets[0]!.remaining;
          const d = store.reserveSync({ buckets: [{ ...b, cost }] });
          const charged = d.buckets[0]!.charged;
          store.settleSync([
            { key: "b", capacity: b.capacity, refill: b.refill, delta: -(charged + extra), charged },
          ]);
          assert.equal(store.reserveSync({ buckets: [b] }).buckets[0]!.remaining, before);
          c.advance(7);
        }
      },
    ),
  );
});

test("memory stays bounded: idle full buckets are swept, maxKeys is a hard cap", () => {
  const c = clock();
  const store = new MemoryRateLimitStore({ now: c.now, maxKeys: 1_000 });
  for (let i = 0; i < 500; i++) store.reserveSync({ buckets: [rateBucket(`k${i}`, 10, 1_000, 1)] });
  assert.equal(store.size, 500);
  c.advance(1_000); // every bucket has refilled: its entry holds nothing
  for (let i = 0; i < 300; i++) store.reserveSync({ buckets: [rateBucket("hot", 1e9, 1_000, 1)] });
  assert.ok(store.size <= 1, `swept down to the hot key, got ${store.size}`);
  for (let i = 0; i < 5_000; i++) store.reserveSync({ buckets: [rateBucket(`n${i}`, 10, 60_000, 1)] });
  assert.ok(store.size <= 1_000);
});

test("budget overshoot ≤ Σ (real − reserved)⁺ over the requests in flight at the last admission", () => {
  const reqArb = fc.record({
    prompt: fc.integer({ min: 1, max: 300 }),
    maxOut: fc.integer({ min: 0, max: 300 }),
    promptError: fc.integer({ min: -20, max: 60 }),
    outShare: fc.double({ min: 0, max: 1, noNaN: true }),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 100, max: 3_000 }),
      fc.array(fc.oneof(reqArb, fc.nat()), { maxLength: 120 }),
      (capacity, script) => {
        const c = clock();
        const store = new MemoryRateLimitStore({ now: c.now });
        const cfg = limitsConfigSchema.parse({
          perKeyDefaults: { budgetTokens: capacity, budgetPeriod: "month" },
        });
        const principal = { ...ANONYMOUS, id: "key:p" };
        type Flight = { plan: ReservationPlan; d: Decision; real: ActualUsage; over: number };
        const inFlight: Flight[] = [];
        let boundAtLastAdmission = 0;
        let realTotal = 0;
        const finish = (f: Flight) => store.settleSync(settlementFor(f.plan, f.d, f.real));
        for (const step of script) {
          c.advance(1);
          if (typeof step === "number") {
            if (inFlight.length > 0) finish(inFlight.splice(step % inFlight.length, 1)[0]!);
            continue;
          }
          const plan = planReservation(cfg, principal, "m", {
            promptTokens: step.prompt,
            maxOutputTokens: step.maxOut,
          });
          const d = store.reserveSync(plan.request);
          if (!d.allowed) continue;
          const real = {
            promptTokens: Math.max(0, step.prompt + step.promptError),
            completionTokens: Math.floor(step.maxOut * step.outShare), // never above max_tokens
          };
          const over = Math.max(0, real.promptTokens + real.completionTokens - plan.reservedTokens);
          inFlight.push({ plan, d, real, over });
          realTotal += real.promptTokens + real.completionTokens;
          boundAtLastAdmission = inFlight.reduce((s, f) => s + f.over, 0);
        }
        for (const f of inFlight.splice(0)) finish(f);
        const probe = planReservation(cfg, principal, "m", { promptTokens: 0, maxOutputTokens: 0 });
        const used = capacity - store.reserveSync(probe.request).buckets[0]!.remaining;
        // Exact accounting: the budget holds the real usage of every admitted request (until the
        // store's debt cap of one extra capacity).
        if (realTotal <= 2 * capacity) assert.equal(used, realTotal);
        assert.ok(
          used - capacity <= boundAtLastAdmission,
          `used ${used} of ${capacity}, bound ${boundAtLastAdmission}`,
        );
      },
    ),
    { numRuns: 300 },
  );
});
