import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type { SqliteStoreConfig } from "./config.js";
import { GroupCommit } from "./sqlite-group.js";
import { SqliteIdempotencyRepository } from "./sqlite-idempotency.js";
import { SqliteJobRepository } from "./sqlite-jobs.js";
import { SqliteKeyRepository } from "./sqlite-keys.js";
import { type Migration, SQLITE_MIGRATIONS } from "./sqlite-migrations.js";
import type { Store } from "./types.js";

type Db = Database.Database;

/** Raised when a database file was written by a newer Switchyard whose schema this one does not know. */
export class StoreSchemaError extends Error {
  override name = "StoreSchemaError";
}

/** Creates the file with mode 0600 when it does not exist yet (SQLite gives `-wal`/`-shm` the same mode). */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, "a", 0o600));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED";
}

/** Runs `fn`, retrying while another process holds a lock the busy handler does not cover. */
function retryBusy<T>(fn: () => T, timeoutMs: number): T {
  const until = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= until) throw err;
      sleepSync(delay);
    }
  }
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, in one IMMEDIATE transaction:
 * the first process to open a fresh file migrates it while a second one waits for the write lock
 * and then finds nothing left to do. Safe to run on every start.
 */
export function migrate(db: Db, migrations: readonly Migration[], timeoutMs: number): number[] {
  retryBusy(
    () =>
      db.exec(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
      ),
    timeoutMs,
  );
  const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  const run = db.transaction((): number[] => {
    const rows = db.prepare("SELECT version FROM schema_migrations").all() as Array<{ version: number }>;
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    if (newest > latest) {
      throw new StoreSchemaError(
        `database schema version ${newest} is newer than this Switchyard knows (${latest}); upgrade Switchyard`,
      );
    }
    const applied: number[] = [];
    const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
      applied.push(m.version);
    }
    return applied;
  });
  return retryBusy(() => run.immediate(), timeoutMs);
}

/** Opens (creating and migrating when needed) the SQLite store. */
export function openSqliteStore(cfg: SqliteStoreConfig): SqliteStore {
  return new SqliteStore(acquireSqliteDatabase(cfg));
}

/** One process's use of a database file: the connection, its group commit, and a release. */
export interface SqliteHandle {
  readonly db: Db;
  readonly group: GroupCommit;
  /** Migration versions this open applied (empty when the file was already up to date or shared). */
  readonly applied: readonly number[];
  /** Gives the handle back; the connection closes when the last holder releases it. Idempotent. */
  release(): void;
}

interface Shared {
  db: Db;
  group: GroupCommit;
  refs: number;
}

const sharedFiles = new Map<string, Shared>();

/**
 * The store and the queue of one process share one connection per file, and with it one group
 * commit: the writes of submissions, claims and acks made in the same turn of the event loop cost
 * one disk sync together. `:memory:` databases are never shared.
 */
export function acquireSqliteDatabase(cfg: SqliteStoreConfig): SqliteHandle {
  const key = cfg.path === ":memory:" ? undefined : resolve(cfg.path);
  let entry = key === undefined ? undefined : sharedFiles.get(key);
  let applied: number[] = [];
  if (!entry?.db.open) {
    const opened = openSqliteDatabase(cfg);
    applied = opened.applied;
    // With synchronous=FULL, groups sync the log on the thread pool (see sqlite-group.ts).
    const background =
      key !== undefined && cfg.synchronous !== "normal" ? { walPath: `${key}-wal` } : undefined;
    entry = { db: opened.db, group: new GroupCommit(opened.db, { background }), refs: 0 };
    if (key !== undefined) sharedFiles.set(key, entry);
  }
  const held = entry;
  held.refs++;
  let released = false;
  return {
    db: held.db,
    group: held.group,
    applied,
    release() {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs > 0) return;
      if (key !== undefined && sharedFiles.get(key) === held) sharedFiles.delete(key);
      held.group.close();
      if (held.db.open) held.db.close();
    },
  };
}

/**
 * Opens one connection to the store's file with the store's settings (WAL, `synchronous`) and
 * migrates it. Other adapters on the same file (the SQLite queue) open their own connection here.
 */
export function openSqliteDatabase(cfg: SqliteStoreConfig): { db: Db; applied: number[] } {
  const memory = cfg.path === ":memory:";
  if (!memory) createPrivateFile(cfg.path);
  const db = new Database(cfg.path, { timeout: cfg.busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${cfg.busyTimeoutMs}`);
    if (!memory) retryBusy(() => db.pragma("journal_mode = WAL"), cfg.busyTimeoutMs);
    db.pragma(`synchronous = ${cfg.synchronous === "normal" ? "NORMAL" : "FULL"}`);
    db.pragma("foreign_keys = ON");
    const applied = migrate(db, SQLITE_MIGRATIONS, cfg.busyTimeoutMs);
    return { db, applied };
  } catch (err) {
    db.close();
    throw err;
  }
}

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly keys: SqliteKeyRepository;
  readonly jobs: SqliteJobRepository;
  readonly idempotency: SqliteIdempotencyRepository;
  /** Migration versions this open applied (empty when the file was already up to date). */
  readonly applied: readonly number[];
  readonly #handle: SqliteHandle;

  constructor(handle: SqliteHandle) {
    this.#handle = handle;
    const { db } = handle;
    this.applied = Object.freeze([...handle.applied]);
    this.keys = new SqliteKeyRepository(db);
    this.jobs = new SqliteJobRepository(db, handle.group);
    this.idempotency = new SqliteIdempotencyRepository(db);
  }

  async close(): Promise<void> {
    this.#handle.release();
  }
}
