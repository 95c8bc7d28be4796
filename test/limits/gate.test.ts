/**
 * The policy gate over the in-memory store answers in the same turn (a ticket, or a thrown 429),
 * and over a store that has to be reached it answers with a promise; both settle to real usage.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { authConfigSchema, createAuthenticator } from "../../src/auth/authenticate.js";
import type { Principal } from "../../src/auth/principal.js";
import { GatewayError } from "../../src/core/errors.js";
import { limitsConfigSchema, MemoryRateLimitStore, type RateLimitStore } from "../../src/limits/index.js";
import { createLogger } from "../../src/observability/logger.js";
import { Gate, type LimitOutcome } from "../../src/policy/gate.js";

const bob: Principal = { id: "key:bob", kind: "key", name: "bob", limits: { rpm: 2, tpm: 10_000 } };
const body = { model: "m", messages: [{ role: "user", content: "Say hello." }], max_tokens: 1_000 };

function gate(store: RateLimitStore, outcomes: LimitOutcome[]) {
  return new Gate({
    authenticator: createAuthenticator(authConfigSchema.parse({ mode: "none" })),
    limits: limitsConfigSchema.parse({}),
    store,
    usage: undefined,
    logger: createLogger({ level: "silent" }),
    observer: { limit: (o) => outcomes.push(o) },
  });
}

test("in memory: tickets without a promise, the 429 thrown at once, tokens settled to usage", () => {
  const outcomes: LimitOutcome[] = [];
  const store = new MemoryRateLimitStore();
  const g = gate(store, outcomes);
  const t1 = g.admit(bob, "chat", "m", body);
  assert.ok(!(t1 instanceof Promise), "the memory store never waits");
  assert.equal(t1.headers["x-ratelimit-limit-requests"], "2");
  assert.equal(t1.headers["x-ratelimit-remaining-requests"], "1");
  const reservedLeft = Number(t1.headers["x-ratelimit-remaining-tokens"]);
  const reserved = 10_000 - reservedLeft;
  assert.ok(reserved > 1_000, `the reservation holds max_tokens and the prompt (${reserved})`);
  t1.finish({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
  const t2 = g.admit(bob, "chat", "m", body);
  assert.ok(!(t2 instanceof Promise));
  // The first request was settled to its 10 real tokens before the second reserved: 10 000 − 10 −
  // the second's reservation is left (a few more as the bucket refills), not 10 000 − 2 reservations.
  const left = Number(t2.headers["x-ratelimit-remaining-tokens"]);
  assert.ok(left >= 10_000 - 10 - reserved && left < 10_000 - reserved, `${left} tokens left`);
  assert.throws(
    () => g.admit(bob, "chat", "m", body),
    (err: unknown) => err instanceof GatewayError && err.code === "rate_limited" && err.status === 429,
  );
  assert.deepEqual(outcomes, ["allowed", "allowed", "rejected"]);
});

test("a store that has to be reached: the gate answers with a promise, same decisions", async () => {
  const outcomes: LimitOutcome[] = [];
  const mem = new MemoryRateLimitStore();
  // The same store seen only through its asynchronous methods (as Redis is).
  const remote: RateLimitStore = {
    reserve: (r) => mem.reserve(r),
    settle: (a) => mem.settle(a),
    acquire: (k, l, t) => mem.acquire(k, l, t),
    release: (k, id) => mem.release(k, id),
    close: () => mem.close(),
  };
  const g = gate(remote, outcomes);
  const t1 = g.admit(bob, "chat", "m", body);
  assert.ok(t1 instanceof Promise);
  assert.equal((await t1).headers["x-ratelimit-remaining-requests"], "1");
  await g.admit(bob, "chat", "m", body);
  await assert.rejects(Promise.resolve(g.admit(bob, "chat", "m", body)), (err: unknown) => {
    return err instanceof GatewayError && err.code === "rate_limited";
  });
  assert.deepEqual(outcomes, ["allowed", "allowed", "rejected"]);
});

test("plans kept per principal and model: each key, model and renewed key gets its own limits", () => {
  const store = new MemoryRateLimitStore();
  const g = new Gate({
    authenticator: createAuthenticator(authConfigSchema.parse({ mode: "none" })),
    limits: limitsConfigSchema.parse({ models: { big: { rpm: 50 } } }),
    store,
    usage: undefined,
    logger: createLogger({ level: "silent" }),
  });
  const key = (id: string, rpm: number): Principal => ({
    id: `key:${id}`,
    kind: "key",
    name: id,
    limits: { rpm },
  });
  const carol = key("carol", 7);
  const dave = key("dave", 9);
  const limit = (p: Principal, model: string) => {
    const t = g.admit(p, "chat", model, { ...body, model });
    assert.ok(!(t instanceof Promise));
    return [t.headers["x-ratelimit-limit-requests"], t.headers["x-ratelimit-remaining-requests"]];
  };
  // Taking turns: each principal's own bucket, never the other's.
  assert.deepEqual(limit(carol, "m"), ["7", "6"]);
  assert.deepEqual(limit(dave, "m"), ["9", "8"]);
  assert.deepEqual(limit(carol, "m"), ["7", "5"]);
  // Another model adds its own bucket for the same principal (the tighter one is shown).
  assert.deepEqual(limit(carol, "big"), ["7", "4"]);
  assert.equal(store.size, 3, "rpm of carol, of dave and of model big");
  // A key's principal renewed with other limits (an admin change seen by a new lookup) is planned anew.
  // Carol's bucket holds 3 requests: with 4 allowed now, one more fits and the next is refused.
  const carolAgain = key("carol", 4);
  assert.deepEqual(limit(carolAgain, "m"), ["4", "0"]);
  assert.throws(
    () => g.admit(carolAgain, "chat", "m", body),
    (err: unknown) => err instanceof GatewayError && err.code === "rate_limited",
  );
});
