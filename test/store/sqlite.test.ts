import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { newKeyMaterial } from "../../src/auth/keys.js";
import { createStore, storeConfigSchema, UsageRecorder } from "../../src/store/index.js";
import { openSqliteStore, type SqliteStore, StoreSchemaError } from "../../src/store/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import type { KeyRepository } from "../../src/store/types.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CHILD = join(import.meta.dirname, "_child.ts");
const dir = mkdtempSync(join(tmpdir(), "switchyard-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const freshPath = () => join(dir, `s${++n}`, "switchyard.db");

interface Child {
  send(line: string): void;
  /** Resolves with the next stdout line. */
  next(): Promise<string>;
  exited: Promise<{ code: number | null; err: string }>;
}

// Children are killed when the file's tests end, so a failed assertion cannot leave them waiting on stdin.
const spawned: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
after(() => {
  for (const p of spawned) p.kill("SIGKILL");
});

function startChild(args: string[]): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { cwd: ROOT });
  spawned.push(proc);
  let err = "";
  proc.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; err: string }>((resolve) =>
    proc.on("exit", (code) => resolve({ code, err })),
  );
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return {
    send: (line) => proc.stdin.write(`${line}\n`),
    next: async () => {
      const r = await Promise.race([lines.next(), exited.then(() => ({ done: true, value: "" }))]);
      if (r.done) throw new Error(`child exited early: ${err}`);
      return r.value as string;
    },
    exited,
  };
}

async function addKey(keys: KeyRepository, overrides: { expiresAt?: number | null } = {}) {
  const m = newKeyMaterial();
  const { secret: _secret, ...rest } = m;
  return keys.create({
    ...rest,
    name: "test",
    allowedModels: ["sim-small"],
    limits: { rpm: 10, budgetTokens: 1000, budgetPeriod: "day" },
    createdAt: Date.now(),
    expiresAt: overrides.expiresAt ?? null,
  });
}

describe("store config", () => {
  test("defaults to ./switchyard.db; kind may be left out; unknown keys refused", () => {
    assert.deepEqual(storeConfigSchema.parse(undefined), {
      kind: "sqlite",
      path: "./switchyard.db",
      busyTimeoutMs: 5000,
    });
    assert.equal(storeConfigSchema.parse({ path: "x.db" }).path, "x.db");
    assert.equal(storeConfigSchema.safeParse({ kind: "sqlite", file: "x.db" }).success, false);
    assert.equal(storeConfigSchema.safeParse({ kind: "mongo" }).success, false);
  });
});

describe("sqlite store", () => {
  test("creates the file with mode 0600 (and its -wal/-shm), WAL and synchronous=FULL", async () => {
    const path = freshPath();
    const store = await createStore({ path });
    await addKey(store.keys);
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    }
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    db.close();
    await store.close();
    await store.close(); // twice is fine
  });

  test("migrations are idempotent: a second open applies nothing and keeps the data", async () => {
    const path = freshPath();
    const a = openSqliteStore(storeConfigSchema.parse({ path }) as never);
    assert.deepEqual(
      a.applied,
      SQLITE_MIGRATIONS.map((m) => m.version),
    );
    const rec = await addKey(a.keys);
    await a.close();
    const b = openSqliteStore(storeConfigSchema.parse({ path }) as never);
    assert.deepEqual(b.applied, []);
    assert.equal((await b.keys.get(rec.id))?.hash, rec.hash);
    await b.close();
    const db = new Database(path, { readonly: true });
    assert.deepEqual(
      db.prepare("SELECT version FROM schema_migrations ORDER BY version").all(),
      SQLITE_MIGRATIONS.map((m) => ({ version: m.version })),
    );
    db.close();
  });

  test("a file from a newer schema is refused with a clear error", async () => {
    const path = freshPath();
    (await createStore({ path })).close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', 0)").run();
    db.close();
    assert.throws(
      () => openSqliteStore({ kind: "sqlite", path, busyTimeoutMs: 1000 }),
      (err: unknown) => err instanceof StoreSchemaError && /newer/.test(err.message),
    );
  });

  test("keys: create, get, find by hash, list, revoke (first time kept)", async () => {
    const store = await createStore({ path: ":memory:" });
    const rec = await addKey(store.keys);
    assert.match(rec.id, /^key_[a-z2-7]{24}$/);
    assert.deepEqual(rec.allowedModels, ["sim-small"]);
    assert.deepEqual(rec.limits, { rpm: 10, budgetTokens: 1000, budgetPeriod: "day" });
    assert.equal(rec.revokedAt, null);
    assert.deepEqual(rec.usage, { requests: 0, promptTokens: 0, completionTokens: 0, lastUsedAt: null });
    assert.equal((await store.keys.findByHash(rec.hash))?.id, rec.id);
    assert.equal(await store.keys.findByHash("0".repeat(64)), undefined);
    const other = await addKey(store.keys);
    assert.deepEqual(
      (await store.keys.list()).map((r) => r.id),
      [rec.id, other.id],
    );
    assert.equal((await store.keys.revoke(rec.id, 1000))?.revokedAt, 1000);
    assert.equal((await store.keys.revoke(rec.id, 2000))?.revokedAt, 1000);
    assert.equal(await store.keys.revoke("key_nope", 1000), undefined);
    await assert.rejects(store.keys.create({ ...rec, id: "key_dup" }), /UNIQUE/);
    await store.close();
  });

  test("three processes open one fresh file at once (one migrates), then add usage to one key concurrently", async () => {
    const path = freshPath();
    const children = [1, 2, 3].map(() => startChild([path, "150"]));
    for (const c of children) assert.equal(await c.next(), "ready");
    for (const c of children) c.send("go");
    const applied = await Promise.all(children.map(async (c) => JSON.parse(await c.next()).applied));
    // Exactly one child migrates the fresh file (all migrations); the others find it done.
    assert.equal(applied.filter((a) => a.length > 0).length, 1, JSON.stringify(applied));
    assert.equal(applied.filter((a) => a.length === 0).length, 2, JSON.stringify(applied));
    assert.equal(statSync(path).mode & 0o777, 0o600);

    const store = await createStore({ path });
    assert.deepEqual((store as SqliteStore).applied, []);
    const rec = await addKey(store.keys);
    for (const c of children) c.send(rec.id);
    const local: Promise<boolean>[] = [];
    for (let i = 0; i < 150; i++) {
      local.push(
        store.keys.addUsage(rec.id, { requests: 1, promptTokens: 3, completionTokens: 5 }, Date.now()),
      );
      if (i % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.ok((await Promise.all(local)).every(Boolean));
    for (const c of children) assert.equal(await c.next(), "done");
    for (const c of children) assert.equal((await c.exited).code, 0);
    const after = await store.keys.get(rec.id);
    assert.equal(after?.usage.requests, 600);
    assert.equal(after?.usage.promptTokens, 1800);
    assert.equal(after?.usage.completionTokens, 3000);
    assert.ok(after?.usage.lastUsedAt);
    assert.equal((await store.keys.usageSince(rec.id, Date.now())).requests, 600);
    const none = { requests: 1, promptTokens: 0, completionTokens: 0 };
    assert.equal(await store.keys.addUsage("key_nope", none, 0), false);
    await store.close();
  });

  test("usageSince sums whole UTC days from the day of `since`", async () => {
    const store = await createStore({ path: ":memory:" });
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
    await assert.rejects(
      store.keys.addUsage(rec.id, { requests: -1, promptTokens: 0, completionTokens: 0 }, d0),
      RangeError,
    );
    await store.close();
  });

  test("UsageRecorder buffers usage and writes it in one batch per flush", async () => {
    const store = await createStore({ path: ":memory:" });
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
    await store.close();
  });
});
