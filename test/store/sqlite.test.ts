import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { GatewayError } from "../../src/core/errors.js";
import { createStore, type SqliteStoreConfig, storeConfigSchema } from "../../src/store/index.js";
import {
  openSqliteDatabase,
  openSqliteStore,
  type SqliteStore,
  StoreSchemaError,
} from "../../src/store/sqlite.js";
import { GroupCommit } from "../../src/store/sqlite-group.js";
import { SQLITE_MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { addKey, storeConformance } from "./store-conformance.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CHILD = join(import.meta.dirname, "_child.ts");
const dir = mkdtempSync(join(tmpdir(), "switchyard-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const freshPath = () => join(dir, `s${++n}`, "switchyard.db");
const sqliteConfig = (path: string) => storeConfigSchema.parse({ path }) as SqliteStoreConfig;

// The shared behaviour tests, on a fresh file per test (a file, not :memory:, so WAL is in play).
storeConformance("sqlite", async () => createStore({ path: freshPath() }));

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

describe("store config", () => {
  test("defaults to ./switchyard.db; kind may be left out; unknown keys refused", () => {
    assert.deepEqual(storeConfigSchema.parse(undefined), {
      kind: "sqlite",
      path: "./switchyard.db",
      busyTimeoutMs: 5000,
    });
    assert.equal(sqliteConfig("x.db").path, "x.db");
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
    const a = openSqliteStore(sqliteConfig(path));
    assert.deepEqual(
      a.applied,
      SQLITE_MIGRATIONS.map((m) => m.version),
    );
    const rec = await addKey(a.keys);
    await a.close();
    const b = openSqliteStore(sqliteConfig(path));
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
});

describe("sqlite group commit", () => {
  const open = () => {
    const db = new Database(join(dir, `group${++n}.db`));
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
    const insert = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
    const rows = () => db.prepare("SELECT k, v FROM t ORDER BY k").all();
    return { db, group: new GroupCommit(db), insert, rows };
  };

  test("writes asked for in one turn commit together; a failing write is undone alone, its own earlier statements too", async () => {
    const { db, group, insert, rows } = open();
    const results = await Promise.allSettled([
      group.run(() => insert.run("a", 1).changes),
      group.run(() => {
        insert.run("b", 2); // done, then undone with the duplicate that follows
        return insert.run("a", 3);
      }),
      group.run(() => insert.run("c", 4).changes),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    assert.match(String((results[1] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual(rows(), [
      { k: "a", v: 1 },
      { k: "c", v: 4 },
    ]);
    assert.equal(db.inTransaction, false);
    db.close();
  });

  test("a failing write alone in its group leaves nothing behind, and the next group commits", async () => {
    const { db, group, insert, rows } = open();
    await assert.rejects(
      group.run(() => {
        insert.run("x", 1);
        throw new Error("after the first statement");
      }),
      /after the first statement/,
    );
    assert.deepEqual(rows(), []);
    assert.equal(await group.run(() => insert.run("y", 2).changes), 1);
    assert.deepEqual(rows(), [{ k: "y", v: 2 }]);
    db.close();
  });

  test("a closed connection rejects the writes waiting for it", async () => {
    const { db, group, insert } = open();
    const pending = group.run(() => insert.run("z", 1));
    db.close();
    await assert.rejects(pending, /not open/);
  });
});

describe("sqlite group commit, log synced in the background", () => {
  type Datasync = (fd: number, done: (err: Error | null) => void) => void;
  /** A WAL file database whose group commit syncs the log with `datasync` (the real one by default). */
  const open = (datasync?: Datasync) => {
    const path = join(dir, `bg${++n}.db`);
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
    const insert = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
    const keys = () => db.prepare("SELECT k FROM t ORDER BY k").all();
    const group = new GroupCommit(db, { background: { walPath: `${path}-wal`, datasync } });
    return { db, group, insert, keys };
  };
  /** A datasync completed by the test: `syncs` holds the completion of each call made so far. */
  const manual = () => {
    const syncs: Array<(err: Error | null) => void> = [];
    const datasync: Datasync = (_fd, done) => void syncs.push(done);
    return { syncs, datasync };
  };
  const turn = () => new Promise((r) => setImmediate(r));

  test("a write is answered only after the log is synced; other writes on the connection stay FULL", async () => {
    const m = manual();
    const { db, group, insert, keys } = open(m.datasync);
    let answered = false;
    const write = group
      .run(() => insert.run("a", 1).changes)
      .then((v) => {
        answered = true;
        return v;
      });
    await turn();
    await turn();
    assert.equal(m.syncs.length, 1, "one sync, started after the commit");
    assert.equal(answered, false, "no answer before the sync completes");
    assert.deepEqual(keys(), [{ k: "a" }], "committed meanwhile");
    assert.equal(db.pragma("synchronous", { simple: true }), 2, "FULL outside groups");
    m.syncs[0]?.(null);
    assert.equal(await write, 1);
    group.close();
    db.close();
  });

  test("groups committed while a sync runs share the next one", async () => {
    const m = manual();
    const { db, group, insert, keys } = open(m.datasync);
    const first = group.run(() => insert.run("a", 1).changes);
    await turn();
    assert.equal(m.syncs.length, 1);
    // Three more groups (one per turn) while the first sync is still running.
    const later: Promise<number>[] = [];
    for (const k of ["b", "c", "d"]) {
      later.push(group.run(() => insert.run(k, 1).changes));
      await turn();
    }
    assert.equal(m.syncs.length, 1, "no second sync while one runs");
    assert.equal(keys().length, 4, "all four groups committed");
    m.syncs[0]?.(null);
    assert.equal(await first, 1);
    await turn();
    assert.equal(m.syncs.length, 2, "one sync for the three waiting groups");
    let settled = 0;
    for (const p of later) void p.then(() => settled++);
    await turn();
    assert.equal(settled, 0, "they wait for their own sync");
    m.syncs[1]?.(null);
    assert.deepEqual(await Promise.all(later), [1, 1, 1]);
    group.close();
    db.close();
  });

  test("a write that needs no sync (durable: false) is answered at the commit; alone it starts no sync", async () => {
    const m = manual();
    const { db, group, insert, keys } = open(m.datasync);
    assert.equal(await group.run(() => insert.run("lease", 1).changes, { durable: false }), 1);
    assert.equal(m.syncs.length, 0, "no sync for a group without durable writes");
    assert.deepEqual(keys(), [{ k: "lease" }]);
    // In a group with a durable write: answered first, the durable one after the sync.
    let durableDone = false;
    const durable = group
      .run(() => insert.run("claim", 1).changes)
      .then(() => {
        durableDone = true;
      });
    const quick = group.run(() => insert.run("lease2", 1).changes, { durable: false });
    assert.equal(await quick, 1);
    assert.equal(durableDone, false);
    assert.equal(m.syncs.length, 1);
    m.syncs[0]?.(null);
    await durable;
    group.close();
    db.close();
  });

  test("a failed sync fails the writes it was to make durable; the next group syncs again", async () => {
    const m = manual();
    const { db, group, insert } = open(m.datasync);
    const lost = group.run(() => insert.run("a", 1).changes);
    await turn();
    m.syncs[0]?.(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    // A 503 the client may retry, naming the disk error; never a bare 500.
    await assert.rejects(lost, (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.code, "store_unavailable");
      assert.match(err.message, /SQLite\) could not sync its log to disk: EIO/);
      return true;
    });
    const next = group.run(() => insert.run("b", 1).changes);
    await turn();
    assert.equal(m.syncs.length, 2);
    m.syncs[1]?.(null);
    assert.equal(await next, 1);
    group.close();
    db.close();
  });

  test("with the real fdatasync, concurrent writes resolve and survive a reopen", async () => {
    const { db, group, insert } = open();
    const n = await Promise.all(
      Array.from({ length: 50 }, (_, i) => group.run(() => insert.run(`k${i}`, i).changes)),
    );
    assert.equal(n.length, 50);
    const file = db.name;
    group.close();
    db.close();
    const again = new Database(file, { readonly: true });
    assert.equal((again.prepare("SELECT COUNT(*) AS c FROM t").get() as { c: number }).c, 50);
    again.close();
  });
});

test("store.synchronous: full by default, normal when asked; nothing else is accepted", () => {
  const open = (extra: Record<string, unknown>) => {
    const { db } = openSqliteDatabase(
      storeConfigSchema.parse({ path: freshPath(), ...extra }) as SqliteStoreConfig,
    );
    try {
      return db.pragma("synchronous", { simple: true });
    } finally {
      db.close();
    }
  };
  assert.equal(open({}), 2, "FULL");
  assert.equal(open({ synchronous: "normal" }), 1, "NORMAL");
  assert.equal(open({ synchronous: "full" }), 2, "FULL");
  const bad = storeConfigSchema.safeParse({ path: "x.db", synchronous: "off" });
  assert.equal(bad.success, false);
});
