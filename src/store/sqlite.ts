import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { SqliteStoreConfig } from "./config.js";
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
  const { db, applied } = openSqliteDatabase(cfg);
  return new SqliteStore(db, applied);
}

/**
 * Opens one connection to the store's file with the store's settings (WAL, synchronous=FULL) and
 * migrates it. Other adapters on the same file (the SQLite queue) open their own connection here.
 */
export function openSqliteDatabase(cfg: SqliteStoreConfig): { db: Db; applied: number[] } {
  const memory = cfg.path === ":memory:";
  if (!memory) createPrivateFile(cfg.path);
  const db = new Database(cfg.path, { timeout: cfg.busyTimeoutMs });
  try {
    db.pragma(`busy_timeout = ${cfg.busyTimeoutMs}`);
    if (!memory) retryBusy(() => db.pragma("journal_mode = WAL"), cfg.busyTimeoutMs);
    db.pragma("synchronous = FULL");
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
  readonly #db: Db;

  constructor(db: Db, applied: readonly number[]) {
    this.#db = db;
    this.applied = Object.freeze([...applied]);
    this.keys = new SqliteKeyRepository(db);
    this.jobs = new SqliteJobRepository(db);
    this.idempotency = new SqliteIdempotencyRepository(db);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
