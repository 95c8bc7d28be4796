import assert from "node:assert/strict";
import { test } from "node:test";
import { ANONYMOUS, type Principal } from "../../src/auth/principal.js";
import { GatewayError } from "../../src/core/errors.js";
import {
  acquireConcurrency,
  formatDuration,
  limitsConfigSchema,
  MemoryRateLimitStore,
  planReservation,
  type RateLimitStore,
  rateLimitedError,
  rateLimitHeaders,
  releaseConcurrency,
  reserveWithFailureMode,
  settlementFor,
} from "../../src/limits/index.js";

const alice: Principal = {
  id: "key:alice",
  kind: "key",
  name: "alice",
  limits: { rpm: 5, budgetTokens: 900 },
};

test("config: defaults, strict fields, discriminated store", () => {
  const cfg = limitsConfigSchema.parse({});
  assert.deepEqual(cfg.store, { kind: "memory", maxKeys: 100_000 });
  assert.equal(cfg.failureMode, "open");
  assert.equal(cfg.defaultMaxTokensEstimate, 1_024);
  const redis = limitsConfigSchema.parse({ store: { kind: "redis", url: "redis://127.0.0.1:6379" } });
  assert.deepEqual(redis.store, {
    kind: "redis",
    url: "redis://127.0.0.1:6379",
    keyPrefix: "switchyard:rl:",
    commandTimeoutMs: 250,
    connectTimeoutMs: 1_000,
    earlyStart: true,
    earlyStartMinRoom: 0.1,
  });
  assert.equal(limitsConfigSchema.safeParse({ global: { rpn: 5 } }).success, false, "unknown field");
  assert.equal(limitsConfigSchema.safeParse({ store: { kind: "redis", url: "http://x" } }).success, false);
  assert.equal(limitsConfigSchema.safeParse({ global: { rpm: 1.5 } }).success, false);
});

test("plan: global, model and principal buckets; principal limits override perKeyDefaults per field", () => {
  const cfg = limitsConfigSchema.parse({
    global: { rpm: 1000, maxConcurrent: 64 },
    models: { big: { tpm: 50_000 } },
    perKeyDefaults: { rpm: 60, tpm: 10_000, budgetPeriod: "week" },
  });
  const plan = planReservation(cfg, alice, "big", { promptTokens: 40, maxOutputTokens: 60 });
  assert.deepEqual(
    plan.request.buckets.map((b) => [b.key, b.kind, b.capacity, b.cost, b.mode]),
    [
      ["rpm:global", "requests", 1000, 1, "enforce"],
      ["tpm:model:big", "tokens", 50_000, 100, "enforce"],
      ["rpm:principal:key:alice", "requests", 5, 1, "enforce"],
      ["tpm:principal:key:alice", "tokens", 10_000, 100, "enforce"],
      ["budget:week:principal:key:alice", "budget", 900, 100, "enforce"],
    ],
  );
  assert.deepEqual(plan.request.buckets[4]!.refill, { type: "window", window: "week" });
  assert.deepEqual(plan.request.buckets[0]!.refill, { type: "rate", periodMs: 60_000 });
  assert.deepEqual(plan.concurrency, [{ key: "conc:global", limit: 64, mode: "enforce" }]);
  assert.equal(plan.reservedTokens, 100);
  // Another model: no model bucket; an anonymous caller gets the defaults.
  const other = planReservation(cfg, ANONYMOUS, "small", { promptTokens: 1, maxOutputTokens: 1 });
  assert.deepEqual(
    other.request.buckets.map((b) => b.key),
    ["rpm:global", "rpm:principal:anonymous", "tpm:principal:anonymous"],
  );
  // `constructor` or `__proto__` as a model name is just a name.
  assert.equal(
    planReservation(cfg, ANONYMOUS, "constructor", { promptTokens: 0, maxOutputTokens: 0 }).request.buckets
      .length,
    3,
  );
});

test("plan: dry-run sets mark their buckets; the estimate is only computed when tokens are limited", () => {
  const cfg = limitsConfigSchema.parse({ global: { rpm: 10, maxConcurrent: 2, dryRun: true } });
  let called = 0;
  const estimate = () => {
    called++;
    return { promptTokens: 1, maxOutputTokens: 1 };
  };
  const plan = planReservation(cfg, ANONYMOUS, "m", estimate);
  assert.equal(called, 0);
  assert.equal(plan.reservedTokens, 0);
  assert.deepEqual(
    plan.request.buckets.map((b) => b.mode),
    ["dry_run"],
  );
  assert.equal(plan.concurrency[0]!.mode, "dry_run");
  planReservation(limitsConfigSchema.parse({ global: { tpm: 10 } }), ANONYMOUS, "m", estimate);
  assert.equal(called, 1);
});

test("settlement: refunds and extra charges per charged token bucket; requests keep their 1", async () => {
  const cfg = limitsConfigSchema.parse({ perKeyDefaults: { rpm: 10, tpm: 1_000, budgetTokens: 5_000 } });
  const store = new MemoryRateLimitStore();
  const plan = planReservation(cfg, alice, "m", { promptTokens: 100, maxOutputTokens: 200 });
  const d = await store.reserve(plan.request);
  assert.equal(d.allowed, true);
  const adj = settlementFor(plan, d, { promptTokens: 90, completionTokens: 10 });
  assert.deepEqual(
    adj.map((a) => [a.key, a.delta, a.charged]),
    [
      ["tpm:principal:key:alice", -200, 300],
      ["budget:month:principal:key:alice", -200, 300],
    ],
  );
  assert.equal(typeof adj[1]!.windowStartMs, "number");
  await store.settle(adj);
  const after = await store.reserve(
    planReservation(cfg, alice, "m", { promptTokens: 0, maxOutputTokens: 0 }).request,
  );
  assert.deepEqual(
    after.buckets.map((b) => b.remaining),
    [3, 900, 800], // rpm: alice's 5 − 2; tpm and budget hold the real 100 tokens
  );
  assert.deepEqual(settlementFor(plan, d, null), [], "unknown usage keeps the reservation");
  const more = settlementFor(plan, d, { promptTokens: 400, completionTokens: 0 });
  assert.deepEqual(
    more.map((a) => a.delta),
    [100, 100],
  );
});

test("headers: OpenAI duration format", () => {
  const cases: Array<[number, string]> = [
    [0, "0s"],
    [20, "20ms"],
    [999, "999ms"],
    [1_000, "1s"],
    [1_500, "1.5s"],
    [6_020, "6.02s"],
    [360_000, "6m0s"],
    [61_001, "1m1.001s"],
    [3_600_000, "1h0m0s"],
    [3_723_000, "1h2m3s"],
    [0.2, "1ms"],
  ];
  for (const [ms, s] of cases) assert.equal(formatDuration(ms), s, String(ms));
});

test("headers: the most constraining enforced bucket of each kind; 429 error with retry-after", async () => {
  const cfg = limitsConfigSchema.parse({
    global: { rpm: 100, tpm: 100_000 },
    perKeyDefaults: { rpm: 2, tpm: 1_000 },
    models: { m: { rpm: 1, dryRun: true } },
  });
  const store = new MemoryRateLimitStore();
  const plan = planReservation(cfg, ANONYMOUS, "m", { promptTokens: 100, maxOutputTokens: 100 });
  const d1 = await store.reserve(plan.request);
  assert.deepEqual(rateLimitHeaders(d1), {
    "x-ratelimit-limit-requests": "2",
    "x-ratelimit-remaining-requests": "1",
    "x-ratelimit-reset-requests": "30s",
    "x-ratelimit-limit-tokens": "1000",
    "x-ratelimit-remaining-tokens": "800",
    "x-ratelimit-reset-tokens": "12s",
  });
  await store.reserve(plan.request);
  const d3 = await store.reserve(plan.request);
  assert.equal(d3.allowed, false);
  assert.deepEqual(d3.wouldBlock, ["rpm:model:m"]);
  const h = rateLimitHeaders(d3);
  assert.equal(h["x-ratelimit-remaining-requests"], "0");
  assert.ok(Number(h["retry-after-ms"]) > 29_000);
  const err = rateLimitedError(d3);
  assert.equal(err.code, "rate_limited");
  assert.equal(err.status, 429);
  assert.equal(err.retryAfterSeconds, 30);
  assert.match(err.message, /rpm:principal:anonymous/);
  const huge = await store.reserve(
    planReservation(cfg, ANONYMOUS, "x", { promptTokens: 5_000, maxOutputTokens: 0 }).request,
  );
  assert.equal(huge.exceedsCapacity, true);
  assert.match(rateLimitedError(huge).message, /can ever hold/);
});

test("failure mode: open lets through flagged degraded, closed throws the 503, other errors propagate", async () => {
  const down = new GatewayError("rate_limit_store_unavailable", "down");
  const failing = (err: Error): RateLimitStore => ({
    reserve: () => Promise.reject(err),
    settle: () => Promise.reject(err),
    acquire: () => Promise.reject(err),
    release: () => Promise.reject(err),
    close: () => Promise.resolve(),
  });
  const req = { buckets: [] };
  const seen: GatewayError[] = [];
  const d = await reserveWithFailureMode(failing(down), req, "open", (e) => seen.push(e));
  assert.equal(d.allowed, true);
  assert.equal(d.degraded, true);
  assert.deepEqual(seen, [down]);
  await assert.rejects(
    reserveWithFailureMode(failing(down), req, "closed", () => {}),
    (e: unknown) => {
      return e === down && (e as GatewayError).status === 503;
    },
  );
  const bug = new TypeError("bug");
  await assert.rejects(
    reserveWithFailureMode(failing(bug), req, "open", () => {}),
    TypeError,
  );
});

test("concurrency: all or nothing over enforced slots; dry-run slots only report", async () => {
  const store = new MemoryRateLimitStore();
  const slots = [
    { key: "conc:global", limit: 2, mode: "enforce" as const },
    { key: "conc:principal:a", limit: 1, mode: "enforce" as const },
    { key: "conc:model:m", limit: 1, mode: "dry_run" as const },
  ];
  const first = await acquireConcurrency(store, slots, 60_000, "open", () => {});
  assert.equal(first.ok, true);
  const second = await acquireConcurrency(store, slots, 60_000, "open", () => {});
  assert.deepEqual(second, {
    ok: false,
    blockedKey: "conc:principal:a",
    limit: 1,
    wouldBlock: ["conc:model:m"],
  });
  // The global slot taken by the failed attempt was given back: one more caller fits.
  const other = await acquireConcurrency(store, [slots[0]!], 60_000, "open", () => {});
  assert.equal(other.ok, true);
  if (first.ok) await releaseConcurrency(store, first.leases);
  const third = await acquireConcurrency(store, slots.slice(1), 60_000, "open", () => {});
  assert.equal(third.ok, true);
});
