import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { authConfigSchema, createAuthenticator } from "../../src/auth/authenticate.js";
import {
  hashApiKey,
  hashesEqual,
  INVALID_KEY_MESSAGE,
  KeyAuthenticator,
  looksLikeApiKey,
  newKeyMaterial,
  newKeyMemo,
} from "../../src/auth/keys.js";
import { createStore } from "../../src/store/index.js";
import { createKey, rejectsWith, withFindByHash } from "./_helpers.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-keys-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `k${++n}.db`);

const keysMode = authConfigSchema.parse({ mode: "keys" });
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** A key authenticator on an in-memory store, with a clock to set (`t.now`) and its lookups counted (`t.lookups`). */
async function countingAuth(opts: { cacheTtlMs: number; cacheMaxEntries?: number }) {
  const store = await createStore({ path: ":memory:" });
  const t = { now: 1_000_000, lookups: 0 };
  const counting = withFindByHash(store.keys, (h) => {
    t.lookups++;
    return store.keys.findByHash(h);
  });
  const auth = new KeyAuthenticator(counting, { ...opts, now: () => t.now });
  return { store, counting, auth, t };
}

describe("key material", () => {
  test("sk-sy- + 43 base64url characters (32 bytes); 12-character prefix; SHA-256 hex hash", () => {
    const m = newKeyMaterial();
    assert.match(m.secret, /^sk-sy-[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(m.secret.slice(6), "base64url").length, 32);
    assert.equal(m.prefix, m.secret.slice(0, 12));
    assert.equal(m.hash, hashApiKey(m.secret));
    assert.match(m.hash, /^[0-9a-f]{64}$/);
    assert.notEqual(newKeyMaterial().secret, m.secret);
    assert.ok(looksLikeApiKey(m.secret));
    assert.ok(!looksLikeApiKey(`${m.secret}x`));
  });
});

describe("key authentication", () => {
  test("a created key authenticates (Bearer or x-api-key) and maps to its principal", async () => {
    const store = await createStore({ path: freshPath() });
    const { secret, rec } = await createKey(store.keys, {
      models: ["sim-small"],
      limits: { rpm: 60, tpm: 1000, maxConcurrent: 2, budgetTokens: 5000, budgetPeriod: "week" },
      name: "team-a",
    });
    const auth = createAuthenticator(keysMode, { keys: store.keys });
    const p = await auth.authenticate(bearer(secret));
    assert.deepEqual(p, {
      id: `key:${rec.id}`,
      kind: "key",
      name: "team-a",
      allowedModels: ["sim-small"],
      limits: { rpm: 60, tpm: 1000, maxConcurrent: 2, budgetTokens: 5000, budgetPeriod: "week" },
    });
    assert.equal((await auth.authenticate({ "x-api-key": secret })).id, p.id);
    assert.equal((await auth.authenticate({ authorization: `bearer  ${secret}` })).id, p.id);
    await store.close();
  });

  test("a cached key is answered without a promise; a failure is always a rejection, never a throw", async () => {
    const store = await createStore({ path: ":memory:" });
    const { secret, rec } = await createKey(store.keys);
    const auth = createAuthenticator(keysMode, { keys: store.keys });
    const first = auth.authenticate(bearer(secret));
    assert.ok(first instanceof Promise, "the first lookup reads the store");
    assert.equal((await first).id, `key:${rec.id}`);
    const cached = auth.authenticate(bearer(secret));
    assert.ok(!(cached instanceof Promise), "a cached lookup answers in the same turn");
    assert.equal(cached.id, `key:${rec.id}`);
    // Cached or not, malformed or unknown: the caller gets a rejected promise it can await.
    const unknown = bearer(newKeyMaterial().secret);
    for (const headers of [unknown, unknown, {}, { authorization: "Basic x" }, bearer("sk-sy-short")]) {
      let answer: unknown;
      assert.doesNotThrow(() => {
        answer = auth.authenticate(headers);
      });
      assert.ok(answer instanceof Promise);
      await rejectsWith(answer, "invalid_api_key");
    }
    await store.close();
  });

  test("hash comparison: equal digests only, whatever the position of a difference", () => {
    const h = hashApiKey(newKeyMaterial().secret);
    assert.ok(hashesEqual(h, `${h}`));
    for (const i of [0, 31, 63]) {
      const other = h.slice(0, i) + (h[i] === "0" ? "1" : "0") + h.slice(i + 1);
      assert.ok(!hashesEqual(h, other), `difference at ${i}`);
    }
    assert.ok(!hashesEqual(h, h.slice(0, 63)));
    assert.ok(!hashesEqual("", ""));
  });

  test("unknown, malformed and missing keys all fail with the same 401 message", async () => {
    const store = await createStore({ path: ":memory:" });
    const auth = createAuthenticator(keysMode, { keys: store.keys });
    const cases = [
      {},
      bearer(newKeyMaterial().secret),
      bearer("sk-sy-short"),
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "Bearer" },
      { authorization: [bearer("a").authorization, bearer("b").authorization] },
      { "x-api-key": "" },
      bearer("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
    ];
    for (const headers of cases) {
      const err = await rejectsWith(auth.authenticate(headers), "invalid_api_key");
      assert.equal(err.message, INVALID_KEY_MESSAGE);
      assert.equal(err.status, 401);
    }
    await store.close();
  });

  test("a revoked key fails within one second on two gateways sharing the database", async () => {
    const path = freshPath();
    const admin = await createStore({ path });
    const gw1 = await createStore({ path });
    const gw2 = await createStore({ path });
    const { secret, rec } = await createKey(admin.keys);
    const a1 = createAuthenticator(keysMode, { keys: gw1.keys });
    const a2 = createAuthenticator(keysMode, { keys: gw2.keys });
    // Warm both caches, then revoke from a third connection (as `switchyard keys revoke` does).
    await a1.authenticate(bearer(secret));
    await a2.authenticate(bearer(secret));
    const revokedAt = Date.now();
    await admin.keys.revoke(rec.id, revokedAt);
    const failedAfter = await Promise.all(
      [a1, a2].map(async (auth) => {
        for (;;) {
          try {
            await auth.authenticate(bearer(secret));
          } catch {
            return Date.now() - revokedAt;
          }
          await sleep(20);
        }
      }),
    );
    for (const ms of failedAfter) assert.ok(ms < 1000, `revoked key still accepted after ${ms} ms`);
    // And it stays rejected.
    await rejectsWith(a1.authenticate(bearer(secret)), "invalid_api_key", /^Invalid or missing API key$/);
    await Promise.all([admin.close(), gw1.close(), gw2.close()]);
  });

  test("expired keys fail (checked on every request, not only on lookup)", async () => {
    const store = await createStore({ path: ":memory:" });
    let now = Date.now();
    const auth = createAuthenticator(keysMode, { keys: store.keys, now: () => now });
    const past = await createKey(store.keys, { expiresAt: now - 1 });
    await rejectsWith(auth.authenticate(bearer(past.secret)), "invalid_api_key");
    const soon = await createKey(store.keys, { expiresAt: now + 100 });
    await auth.authenticate(bearer(soon.secret)); // cached now
    now += 100;
    await rejectsWith(auth.authenticate(bearer(soon.secret)), "invalid_api_key");
    await store.close();
  });

  test("the database never holds the plain key (db, -wal and -shm bytes searched)", async () => {
    const path = freshPath();
    const store = await createStore({ path });
    const auth = createAuthenticator(keysMode, { keys: store.keys });
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createKey(store.keys, { name: `k${i}` }));
    for (const { secret, rec } of created) {
      await auth.authenticate(bearer(secret));
      await store.keys.addUsage(rec.id, { requests: 1, promptTokens: 1, completionTokens: 1 }, Date.now());
    }
    await store.keys.revoke(created[0]!.rec.id, Date.now());
    const bytes = Buffer.concat(
      [path, `${path}-wal`, `${path}-shm`].map((f) => {
        try {
          return readFileSync(f);
        } catch {
          return Buffer.alloc(0);
        }
      }),
    );
    assert.ok(bytes.includes(created[1]!.rec.hash), "sanity: the hash is in the files read");
    for (const { secret } of created) {
      assert.ok(!bytes.includes(secret), "plain key found in the database files");
      assert.ok(!bytes.includes(secret.slice(12)), "the secret part of the key found in the database files");
    }
    await store.close();
  });

  test("lookups are cached for at most the TTL (found and not found), in a bounded cache", async () => {
    const { store, counting, auth, t } = await countingAuth({ cacheTtlMs: 1000, cacheMaxEntries: 10 });
    const { secret } = await createKey(store.keys);
    await auth.authenticate(secret);
    await auth.authenticate(secret);
    assert.equal(t.lookups, 1);
    const unknown = newKeyMaterial().secret;
    await rejectsWith(auth.authenticate(unknown), "invalid_api_key");
    await rejectsWith(auth.authenticate(unknown), "invalid_api_key");
    assert.equal(t.lookups, 2, "negative lookups are cached too");
    t.now += 1000;
    await auth.authenticate(secret);
    assert.equal(t.lookups, 3, "an entry is not used once the TTL has passed");
    for (let i = 0; i < 50; i++)
      await rejectsWith(auth.authenticate(newKeyMaterial().secret), "invalid_api_key");
    assert.ok(auth.cacheSize <= 10, `cache grew to ${auth.cacheSize}`);
    assert.throws(() => new KeyAuthenticator(counting, { cacheTtlMs: 1001 }), RangeError);
    assert.equal(authConfigSchema.safeParse({ keyCacheTtlMs: 1500 }).success, false);
    await store.close();
  });

  test("a connection's memo answers its own key again, never another key, and keeps TTL and expiry", async () => {
    const { store, auth, t } = await countingAuth({ cacheTtlMs: 500 });
    const a = await createKey(store.keys, { name: "a", expiresAt: t.now + 2_000 });
    const b = await createKey(store.keys, { name: "b" });
    const memo = newKeyMemo();
    const first = await auth.authenticate(a.secret, memo);
    assert.equal(first.name, "a");
    assert.equal(memo.secret, a.secret, "a key that passed is remembered");
    // The same key again: answered at once from the memo.
    const again = auth.authenticate(a.secret, memo);
    assert.ok(!(again instanceof Promise));
    assert.equal(again, first);
    // Another key on the same connection is checked for itself, and then remembered instead.
    assert.equal((await auth.authenticate(b.secret, memo)).name, "b");
    assert.equal(memo.secret, b.secret);
    // A key differing from the remembered one in its last character only is refused.
    const forged = `${b.secret.slice(0, -1)}${b.secret.endsWith("A") ? "B" : "A"}`;
    await rejectsWith(auth.authenticate(forged, memo), "invalid_api_key");
    assert.equal(memo.secret, undefined, "a failed check empties the memo");
    assert.equal((await auth.authenticate(a.secret, memo)).name, "a");
    // Past the TTL the memo is not trusted: the key is looked up again (a revocation shows).
    const before = t.lookups;
    await store.keys.revoke(a.rec.id, t.now);
    t.now += 500;
    await rejectsWith(auth.authenticate(a.secret, memo), "invalid_api_key");
    assert.equal(t.lookups, before + 1);
    // Expiry is checked on every request, memo or not.
    const soon = await createKey(store.keys, { name: "soon", expiresAt: t.now + 100 });
    await auth.authenticate(soon.secret, memo);
    assert.ok(!(auth.authenticate(soon.secret, memo) instanceof Promise));
    t.now += 100;
    await rejectsWith(auth.authenticate(soon.secret, memo), "invalid_api_key");
    await store.close();
  });

  test("a store that cannot be read gives 503 auth_unavailable, not 401", async () => {
    const store = await createStore({ path: ":memory:" });
    const broken = withFindByHash(store.keys, () => Promise.reject(new Error("disk gone")));
    const auth = createAuthenticator(keysMode, { keys: broken });
    const err = await rejectsWith(auth.authenticate(bearer(newKeyMaterial().secret)), "auth_unavailable");
    assert.equal(err.status, 503);
    await store.close();
  });
});
