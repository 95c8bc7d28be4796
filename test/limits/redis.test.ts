/** The Redis store against a real redis-server: failures, recovery, one clock for all replicas. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { Redis } from "ioredis";
import { isGatewayError } from "../../src/core/errors.js";
import { acquireConcurrency, reserveWithFailureMode } from "../../src/limits/failure.js";
import { LUA_WINDOW } from "../../src/limits/lua.js";
import { windowBounds } from "../../src/limits/math.js";
import { RedisRateLimitStore, SETTLE_DELAY_MS } from "../../src/limits/redis.js";
import type { ReserveBucket } from "../../src/limits/types.js";
import { REDIS_SERVER, type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";

const TIMEOUT_MS = 200;

function bucket(key: string, capacity: number, cost: number, periodMs = 3_600_000): ReserveBucket {
  return { key, kind: "requests", capacity, refill: { type: "rate", periodMs }, cost, mode: "enforce" };
}

function isUnavailable(err: unknown): boolean {
  return isGatewayError(err) && err.code === "rate_limit_store_unavailable" && err.status === 503;
}

async function settlesWithin<T>(
  p: Promise<T>,
  ms: number,
): Promise<{ ok: boolean; value?: T; err?: unknown }> {
  const started = Date.now();
  const r = await p.then(
    (value) => ({ ok: true, value }),
    (err: unknown) => ({ ok: false, err }),
  );
  const took = Date.now() - started;
  assert.ok(took <= ms, `took ${took} ms, more than ${ms}`);
  return r;
}

if (!REDIS_SERVER) {
  test("Redis store", (t) => {
    redisAvailable(t);
  });
} else {
  describe("Redis store", () => {
    let redis: RedisProc;
    const stores: RedisRateLimitStore[] = [];
    const newStore = async () => {
      const s = new RedisRateLimitStore({ url: redis.url, keyPrefix: "t:", commandTimeoutMs: TIMEOUT_MS });
      stores.push(s);
      await s.ready();
      return s;
    };
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      for (const s of stores) await s.close();
      await redis.stop();
    });

    test("early start: room is claimed only after a fresh answer shows enough left, and is counted", async () => {
      const s = new RedisRateLimitStore({
        url: redis.url,
        keyPrefix: "t:",
        commandTimeoutMs: TIMEOUT_MS,
        earlyStart: { minRoom: 0.1 },
      });
      stores.push(s);
      await s.ready();
      const other = await newStore(); // another gateway on the same Redis
      const bk = bucket(`room:${randomUUID()}`, 20, 1);
      const req = { buckets: [bk] };
      assert.equal(s.claimRoom(req), false, "nothing known yet: wait for the answer");
      await s.reserve(req); // 19 left
      // 19 → 18 … while at least 2 (10% of 20) stay after the request.
      let claimed = 0;
      while (s.claimRoom(req)) claimed++;
      assert.equal(claimed, 17, "19 left, 2 kept: 17 requests may start early");
      await s.reserve(req); // the answer resets the room: 18 left
      assert.equal(s.claimRoom(req), true);
      // Another gateway takes what is left; this one still believes in its last answer…
      await other.reserve({ buckets: [{ ...bk, cost: 18 }] });
      assert.equal(s.claimRoom(req), true);
      // …and Redis, which decides, refuses: the caller cancels what it started early.
      const refused = await s.reserve(req);
      assert.equal(refused.allowed, false);
      assert.equal(s.claimRoom(req), false, "the refusal's answer shows no room");
      // Dry-run buckets never hold a request back; a stale answer does.
      assert.equal(s.claimRoom({ buckets: [{ ...bk, mode: "dry_run" }] }), true);
      const fresh = bucket(`room:${randomUUID()}`, 100, 1);
      await s.reserve({ buckets: [fresh] });
      assert.equal(s.claimRoom({ buckets: [fresh] }), true);
      await sleep(1_100);
      assert.equal(s.claimRoom({ buckets: [fresh] }), false, "an answer older than a second does not count");
      // Without earlyStart a store never claims.
      assert.equal(other.claimRoom({ buckets: [fresh] }), false);
    });

    test("two clients share one limit exactly: 2N concurrent reserves on capacity N admit N", async () => {
      const [a, b] = [await newStore(), await newStore()];
      const n = 50;
      const bk = bucket(`shared:${randomUUID()}`, n, 1);
      const all = await Promise.all(
        Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? a : b).reserve({ buckets: [bk] })),
      );
      assert.equal(all.filter((d) => d.allowed).length, n);
      const rejected = all.filter((d) => !d.allowed);
      // One unit comes back every 72 s (50 per hour): every rejection says so.
      for (const d of rejected) assert.ok(d.retryAfterMs > 71_000 && d.retryAfterMs <= 72_000);
    });

    test("keys carry TTLs: rate buckets until full, budgets until the window ends, leases until expiry", async () => {
      const s = await newStore();
      const raw = new Redis(redis.url);
      try {
        const id = randomUUID();
        await s.reserve({
          buckets: [
            bucket(`ttl:${id}:rate`, 10, 5, 60_000),
            {
              key: `ttl:${id}:budget`,
              kind: "budget",
              capacity: 100,
              refill: { type: "window", window: "day" },
              cost: 1,
              mode: "enforce",
            },
          ],
        });
        await s.acquire(`ttl:${id}:conc`, 1, 5_000);
        const rate = await raw.pttl(`t:ttl:${id}:rate`);
        assert.ok(rate > 29_000 && rate <= 30_000, `rate ttl ${rate}`);
        const budget = await raw.pttl(`t:ttl:${id}:budget`);
        const end = windowBounds(Date.now(), "day").endMs - Date.now();
        assert.ok(Math.abs(budget - end) < 2_000, `budget ttl ${budget} vs ${end}`);
        const lease = await raw.pttl(`t:ttl:${id}:conc`);
        assert.ok(lease > 4_000 && lease <= 5_000, `lease ttl ${lease}`);
      } finally {
        raw.disconnect();
      }
    });

    test("a settlement rides with the next decision in one script, applied before it; alone it is written within SETTLE_DELAY_MS", async () => {
      const s = await newStore();
      const raw = new Redis(redis.url);
      const scripts = async () => {
        const info = await raw.info("commandstats");
        // Scripts run: EVALSHA calls that found the script, and EVAL (the fallback when one did not).
        const stat = (name: string, field: string) =>
          Number(info.match(new RegExp(`cmdstat_${name}:.*\\b${field}=(\\d+)`))?.[1] ?? 0);
        return stat("evalsha", "calls") - stat("evalsha", "failed_calls") + stat("eval", "calls");
      };
      try {
        const tokens: ReserveBucket = { ...bucket(`ride:${randomUUID()}`, 100, 60), kind: "tokens" };
        const first = await s.reserve({ buckets: [tokens] });
        assert.equal(first.buckets[0]?.remaining, 40);
        await raw.config("RESETSTAT");
        // The request used 10 of its 60: 50 come back, written with the next decision.
        const settled = s.settle([{ ...tokens, delta: -50, charged: 60 }]);
        const next = await s.reserve({ buckets: [tokens] });
        await settled;
        assert.equal(next.allowed, true, "the refund was applied before this reservation");
        assert.equal(next.buckets[0]?.remaining, 30);
        assert.equal(await scripts(), 1, "one script for the settlement and the decision");
        // With no decision to travel with, a settlement goes alone, within the delay.
        const started = performance.now();
        await s.settle([{ ...tokens, delta: -60, charged: 60 }]);
        const took = performance.now() - started;
        assert.ok(took >= SETTLE_DELAY_MS - 1 && took < SETTLE_DELAY_MS + 200, `took ${took} ms`);
        assert.equal(await scripts(), 2);
        const after = await s.reserve({ buckets: [{ ...tokens, cost: 1 }] });
        assert.equal(after.buckets[0]?.remaining, 89);
      } finally {
        raw.disconnect();
      }
    });

    test("the Lua calendar windows equal windowBounds for any time", async () => {
      const raw = new Redis(redis.url);
      try {
        const src = `${LUA_WINDOW}\nlocal s, e = window_bounds(tonumber(ARGV[1]), ARGV[2])\nreturn {s, e}`;
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }),
            fc.constantFrom("day", "week", "month"),
            async (ms, w) => {
              const [s, e] = (await raw.eval(src, 0, ms, w)) as [number, number];
              const want = windowBounds(ms, w as "day" | "week" | "month");
              assert.deepEqual({ startMs: s, endMs: e }, want, `${new Date(ms).toISOString()} ${w}`);
            },
          ),
          { numRuns: 300 },
        );
        // Edges: leap days, year ends, month ends.
        for (const iso of [
          "2024-02-29T23:59:59.999Z",
          "2025-12-31T23:59:59.999Z",
          "2026-03-01T00:00:00.000Z",
        ]) {
          const ms = Date.parse(iso);
          const [s, e] = (await raw.eval(src, 0, ms, "month")) as [number, number];
          assert.deepEqual({ startMs: s, endMs: e }, windowBounds(ms, "month"), iso);
        }
      } finally {
        raw.disconnect();
      }
    });

    test("EVALSHA falls back to EVAL after SCRIPT FLUSH", async () => {
      const s = await newStore();
      const raw = new Redis(redis.url);
      try {
        await raw.script("FLUSH");
        assert.equal((await s.reserve({ buckets: [bucket(`flush:${randomUUID()}`, 1, 1)] })).allowed, true);
        assert.ok(await s.acquire(`flush:${randomUUID()}`, 1, 1_000));
      } finally {
        raw.disconnect();
      }
    });

    test("budget overshoot across two replicas stays within Σ (real − reserved)⁺ of requests in flight", async () => {
      const [a, b] = [await newStore(), await newStore()];
      const key = `budget:${randomUUID()}`;
      const capacity = 2_000;
      const spec = { key, capacity, refill: { type: "window", window: "month" } } as const;
      type Done = { admittedAt: number; settledAt: number; over: number; real: number };
      const done: Done[] = [];
      const rnd = fc.sample(
        fc.tuple(fc.integer({ min: 20, max: 200 }), fc.integer({ min: -10, max: 40 })),
        80,
      );
      await Promise.all(
        rnd.map(async ([reserve, err], i) => {
          const s = i % 2 === 0 ? a : b;
          await sleep(i % 7);
          const issuedAt = performance.now();
          const d = await s.reserve({
            buckets: [{ ...spec, kind: "budget", cost: reserve, mode: "enforce" }],
          });
          if (!d.allowed) return;
          await sleep((i * 13) % 11);
          const real = Math.max(0, reserve + err);
          const r = d.buckets[0]!;
          await s.settle([
            { ...spec, delta: real - reserve, charged: reserve, windowStartMs: r.windowStartMs! },
          ]);
          done.push({
            admittedAt: issuedAt,
            settledAt: performance.now(),
            over: Math.max(0, real - reserve),
            real,
          });
        }),
      );
      const probe = await a.reserve({ buckets: [{ ...spec, kind: "budget", cost: 0, mode: "enforce" }] });
      const used = capacity - probe.buckets[0]!.remaining;
      const lastAdmission = Math.max(...done.map((d) => d.admittedAt));
      // Requests whose settle finished before the last admitted reserve was sent were not in flight.
      const bound = done.filter((d) => d.settledAt >= lastAdmission).reduce((s, d) => s + d.over, 0);
      assert.equal(
        used,
        done.reduce((s, d) => s + d.real, 0),
        "the budget holds exactly the real usage",
      );
      assert.ok(used - capacity <= bound, `used ${used} of ${capacity}, bound ${bound}`);
    });

    test("Redis dies: calls reject at once with the 503 code, failure modes apply, and recover on restart", async () => {
      const s = await newStore();
      const bk = bucket(`fail:${randomUUID()}`, 100, 1);
      assert.equal((await s.reserve({ buckets: [bk] })).allowed, true);
      await redis.kill();
      const budget = TIMEOUT_MS + 300;
      for (const call of [
        (): Promise<unknown> => s.reserve({ buckets: [bk] }),
        () => s.settle([{ key: bk.key, capacity: 100, refill: bk.refill, delta: -1, charged: 1 }]),
        () => s.acquire("fail:conc", 1, 1_000),
        () => s.release("fail:conc", "x"),
      ]) {
        const r = await settlesWithin(call(), budget);
        assert.equal(r.ok, false);
        assert.ok(isUnavailable(r.err), String(r.err));
      }
      // Fail open: allowed, flagged degraded, reported once.
      const warned: unknown[] = [];
      const open = await reserveWithFailureMode(s, { buckets: [bk] }, "open", (e) => warned.push(e));
      assert.equal(open.allowed, true);
      assert.equal(open.degraded, true);
      assert.equal(warned.length, 1);
      const conc = await acquireConcurrency(
        s,
        [{ key: "fail:c", limit: 1, mode: "enforce" }],
        1_000,
        "open",
        (e) => warned.push(e),
      );
      assert.deepEqual(conc, { ok: true, leases: [], wouldBlock: [], degraded: true });
      // Fail closed: the 503.
      await assert.rejects(
        reserveWithFailureMode(s, { buckets: [bk] }, "closed", () => {}),
        isUnavailable,
      );
      await redis.restart();
      const started = Date.now();
      for (;;) {
        try {
          const d = await s.reserve({ buckets: [bk] });
          assert.equal(d.allowed, true);
          break;
        } catch (err) {
          assert.ok(isUnavailable(err));
          assert.ok(Date.now() - started < 5_000, "the store did not reconnect within 5 s");
          await sleep(50);
        }
      }
    });

    test("Redis hangs: calls reject after commandTimeoutMs, and work again when it resumes", async () => {
      const s = await newStore();
      const bk = bucket(`hang:${randomUUID()}`, 100, 1);
      redis.pause();
      try {
        const r = await settlesWithin(s.reserve({ buckets: [bk] }), TIMEOUT_MS + 300);
        assert.ok(!r.ok && isUnavailable(r.err), String(r.err));
      } finally {
        redis.resume();
      }
      const started = Date.now();
      for (;;) {
        try {
          assert.equal((await s.reserve({ buckets: [bk] })).allowed, true);
          break;
        } catch (err) {
          assert.ok(isUnavailable(err));
          assert.ok(Date.now() - started < 5_000, "no recovery within 5 s");
          await sleep(50);
        }
      }
    });
  });
}
