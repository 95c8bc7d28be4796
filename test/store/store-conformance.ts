/**
 * The `Store` conformance suite: every adapter (SQLite, PostgreSQL) runs these tests and must give
 * the same answers. `factory` opens a new, empty store for each test.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { newKeyMaterial } from "../../src/auth/keys.js";
import type { KeyRepository, Store } from "../../src/store/types.js";
import { UsageRecorder } from "../../src/store/usage-recorder.js";
import { jobTests } from "./store-conformance-jobs.js";

export { newJob } from "./store-conformance-jobs.js";

export type StoreFactory = () => Promise<Store>;

export async function addKey(keys: KeyRepository, createdAt = Date.now()) {
  const { secret: _secret, ...rest } = newKeyMaterial();
  return keys.create({
    ...rest,
    name: "test",
    allowedModels: ["sim-small"],
    limits: { rpm: 10, budgetTokens: 1000, budgetPeriod: "day" },
    createdAt,
    expiresAt: null,
  });
}

export function storeConformance(kind: string, factory: StoreFactory, opts: { skip?: string } = {}): void {
  describe(`Store conformance: ${kind}`, { skip: opts.skip ?? false }, () => {
    const opened: Store[] = [];
    const fresh = async () => {
      const s = await factory();
      opened.push(s);
      return s;
    };
    after(async () => {
      for (const s of opened) await s.close();
    });
    keyTests(fresh);
    jobTests(fresh);
    idempotencyTests(fresh);
  });
}

function keyTests(fresh: StoreFactory): void {
  test("keys: create, get, find by hash, list, revoke (first time kept), duplicates refused", async () => {
    const store = await fresh();
    const rec = await addKey(store.keys, 1_000);
    assert.match(rec.id, /^key_[a-z2-7]{24}$/);
    assert.deepEqual(rec.allowedModels, ["sim-small"]);
    assert.deepEqual(rec.limits, { rpm: 10, budgetTokens: 1000, budgetPeriod: "day" });
    assert.equal(rec.revokedAt, null);
    assert.deepEqual(rec.usage, { requests: 0, promptTokens: 0, completionTokens: 0, lastUsedAt: null });
    assert.deepEqual(await store.keys.get(rec.id), rec);
    assert.equal((await store.keys.findByHash(rec.hash))?.id, rec.id);
    assert.equal(await store.keys.findByHash("0".repeat(64)), undefined);
    assert.equal(await store.keys.get("key_nope"), undefined);
    const other = await addKey(store.keys, 2_000);
    assert.deepEqual(
      (await store.keys.list()).map((r) => r.id),
      [rec.id, other.id],
    );
    assert.equal((await store.keys.revoke(rec.id, 1000))?.revokedAt, 1000);
    assert.equal((await store.keys.revoke(rec.id, 2000))?.revokedAt, 1000);
    assert.equal(await store.keys.revoke("key_nope", 1000), undefined);
    await assert.rejects(store.keys.create({ ...rec, id: "key_dup" }), /unique/i);
    await assert.rejects(store.keys.create({ ...rec, hash: "f".repeat(64) }), /unique/i);
    await assert.rejects(store.keys.create({ ...rec, id: "key_bad", hash: "XYZ" }), TypeError);
  });

  test("usageSince sums whole UTC days from the day of `since`; bad counts refused", async () => {
    const store = await fresh();
    const rec = await addKey(store.keys);
    const day = 86_400_000;
    const d0 = Date.UTC(2026, 0, 10, 12);
    await store.keys.addUsage(rec.id, { requests: 1, promptTokens: 10, completionTokens: 1 }, d0 - day);
    await store.keys.addUsage(rec.id, { requests: 1, promptTokens: 20, completionTokens: 2 }, d0);
    await store.keys.addUsage(rec.id, { requests: 1, promptTokens: 40, completionTokens: 4 }, d0 + day);
    assert.deepEqual(await store.keys.usageSince(rec.id, Date.UTC(2026, 0, 10)), {
      requests: 2,
      promptTokens: 60,
      completionTokens: 6,
    });
    assert.deepEqual(await store.keys.usageSince(rec.id, d0 + 5 * day), {
      requests: 0,
      promptTokens: 0,
      completionTokens: 0,
    });
    const got = await store.keys.get(rec.id);
    assert.deepEqual(got?.usage, {
      requests: 3,
      promptTokens: 70,
      completionTokens: 7,
      lastUsedAt: d0 + day,
    });
    for (const bad of [-1, 1.5, Number.NaN]) {
      await assert.rejects(
        store.keys.addUsage(rec.id, { requests: bad, promptTokens: 0, completionTokens: 0 }, d0),
        RangeError,
      );
    }
  });

  test("concurrent addUsage and addUsageBatch lose no update; unknown keys are counted out", async () => {
    const store = await fresh();
    const [a, b] = [await addKey(store.keys), await addKey(store.keys)];
    const one = { requests: 1, promptTokens: 3, completionTokens: 5 };
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      calls.push(store.keys.addUsage(a.id, one, Date.now()));
      if (i % 10 === 0) {
        const at = Date.now();
        const entries = [
          { keyId: b.id, delta: one, atMs: at },
          { keyId: a.id, delta: one, atMs: at },
          { keyId: "key_gone", delta: one, atMs: at },
        ];
        calls.push(store.keys.addUsageBatch(entries).then((n) => assert.equal(n, 2)));
      }
    }
    await Promise.all(calls);
    const ua = (await store.keys.get(a.id))?.usage;
    assert.deepEqual(
      { ...ua, lastUsedAt: null },
      { requests: 132, promptTokens: 396, completionTokens: 660, lastUsedAt: null },
    );
    assert.equal((await store.keys.get(b.id))?.usage.requests, 12);
    assert.equal((await store.keys.usageSince(a.id, Date.now() - 60_000)).requests, 132);
    assert.equal(await store.keys.addUsage("key_nope", one, 0), false);
    assert.equal(await store.keys.addUsageBatch([]), 0);
  });

  test("UsageRecorder buffers usage and writes it in one batch per flush", async () => {
    const store = await fresh();
    const a = await addKey(store.keys);
    const b = await addKey(store.keys);
    const rec = new UsageRecorder(store.keys, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) rec.record(a.id, { requests: 1, promptTokens: 2, completionTokens: 3 });
    rec.record(b.id, { requests: 1, promptTokens: 7, completionTokens: 0 });
    rec.record("key_gone", { requests: 1, promptTokens: 1, completionTokens: 1 });
    assert.equal((await store.keys.get(a.id))?.usage.requests, 0);
    await Promise.all([rec.flush(), rec.flush()]);
    assert.deepEqual(
      { ...(await store.keys.get(a.id))?.usage, lastUsedAt: null },
      { requests: 100, promptTokens: 200, completionTokens: 300, lastUsedAt: null },
    );
    assert.equal((await store.keys.get(b.id))?.usage.promptTokens, 7);
    rec.record(a.id, { requests: 1, promptTokens: 0, completionTokens: 0 });
    await rec.close();
    assert.equal((await store.keys.get(a.id))?.usage.requests, 101);
  });

  test("close is safe twice; calls after close reject", async () => {
    const store = await fresh();
    await store.close();
    await store.close();
    await assert.rejects(store.keys.list());
  });
}

function idempotencyTests(fresh: StoreFactory): void {
  test("idempotency: acquire, pending, done, conflict, lock expiry, release, expiry, purge", async () => {
    const store = await fresh();
    const idm = store.idempotency;
    const t = 1_000_000;
    assert.deepEqual(await idm.acquire("s", "k", "fp", t, t + 100, t + 1000), { kind: "acquired" });
    assert.deepEqual(await idm.acquire("s", "k", "fp", t + 1, t + 100, t + 1000), { kind: "pending" });
    assert.deepEqual(await idm.acquire("s", "k", "other", t + 1, t + 100, t + 1000), { kind: "conflict" });
    assert.deepEqual(await idm.acquire("s2", "k", "other", t + 1, t + 100, t + 1000), { kind: "acquired" });
    // The lock ran out (the caller died): the same request may take the key again.
    assert.deepEqual(await idm.acquire("s", "k", "fp", t + 200, t + 300, t + 1000), { kind: "acquired" });
    await idm.complete("s", "k", '{"ok":true}', t + 2000);
    assert.deepEqual(await idm.acquire("s", "k", "fp", t + 1500, t + 1600, t + 3000), {
      kind: "done",
      response: '{"ok":true}',
    });
    assert.deepEqual(await idm.acquire("s", "k", "new", t + 1500, t + 1600, t + 3000), { kind: "conflict" });
    await idm.release("s", "k"); // only a pending key is released
    assert.equal((await idm.acquire("s", "k", "fp", t + 1500, t + 1600, t + 3000)).kind, "done");
    assert.deepEqual(await idm.acquire("s", "k", "new", t + 2000, t + 2100, t + 3000), { kind: "acquired" });
    await idm.release("s", "k");
    assert.deepEqual(await idm.acquire("s", "k", "again", t + 2001, t + 2100, t + 3000), {
      kind: "acquired",
    });
    assert.equal(await idm.purge(t + 999), 0);
    assert.equal(await idm.purge(t + 1000), 1); // s2/k
    assert.equal(await idm.purge(t + 3000), 1);
  });

  test("idempotency: concurrent acquires of one key: exactly one runs", async () => {
    const store = await fresh();
    const now = Date.now();
    const got = await Promise.all(
      Array.from({ length: 6 }, () =>
        store.idempotency.acquire("s", "race", "fp", now, now + 10_000, now + 60_000),
      ),
    );
    assert.equal(got.filter((g) => g.kind === "acquired").length, 1, JSON.stringify(got));
    assert.equal(got.filter((g) => g.kind === "pending").length, 5);
  });
}
