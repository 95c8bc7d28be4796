import { closeSync, fdatasync, fsyncSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { GatewayError } from "../core/errors.js";

interface Pending {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Answered after the disk sync (false: at the commit). */
  durable: boolean;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A committed group waiting for the disk sync that makes it durable. */
interface Waiter {
  batch: Pending[];
  outcomes: Outcome[];
}

/** Options of a group commit on a file database with `synchronous=FULL` durability. */
export interface BackgroundSync {
  /** The database's write-ahead log (`<file>-wal`). */
  walPath: string;
  /** Flushes `fd` to disk (default `fs.fdatasync`); tests pass their own to observe or fail it. */
  datasync?: (fd: number, done: (err: Error | null) => void) => void;
}

/**
 * Group commit for one SQLite connection. Writes asked for in the same turn of the event loop run
 * in one IMMEDIATE transaction, so N concurrent writers pay for one disk sync (`synchronous=FULL`)
 * instead of N, and one writer's failure rolls back only its own statements. A caller's promise
 * settles only after the shared COMMIT, so a resolved write is durable. With a single writer the
 * cost is one `setImmediate` hop.
 *
 * The group first runs all writes back to back. Only when one of them throws is the transaction
 * rolled back and the group run again with each write in its own savepoint, so that the failing
 * write is undone alone: failures are rare, and a savepoint per write costs as much as the write.
 *
 * With `background` (a file database whose connection runs `synchronous=FULL`), a group commits
 * with `synchronous=NORMAL` (the log is written, not yet synced) and its callers are answered
 * after an `fdatasync` of the log on libuv's thread pool: the same durability as FULL, without
 * stopping the event loop for the disk. One sync runs at a time; groups committed while it runs
 * share the next one. Writes outside groups on the connection keep FULL.
 */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #maxOps: number;
  readonly #sql: ReturnType<typeof control>;
  readonly #background: Required<BackgroundSync> | undefined;
  #pending: Pending[] = [];
  #scheduled = false;
  /** Committed groups that wait for the next sync (one runs at a time). */
  #unsynced: Waiter[] = [];
  #syncing = false;
  #walFd: number | undefined;
  #closed = false;

  constructor(db: Database.Database, opts: { maxOps?: number; background?: BackgroundSync } = {}) {
    this.#db = db;
    this.#maxOps = opts.maxOps ?? 256;
    this.#sql = control(db);
    const bg = opts.background;
    this.#background = bg && { walPath: bg.walPath, datasync: bg.datasync ?? fdatasync };
  }

  /**
   * Runs `fn` (synchronous statements) in the next group; resolves with its result once committed
   * and on disk. With `durable: false` it resolves at the commit (visible to every connection), before
   * the sync: for a write whose loss in an OS crash is harmless because whatever depends on it is
   * written durably later (the log is synced in order, so a later durable write makes it durable too).
   */
  run<T>(fn: () => T, opts?: { durable?: boolean }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const durable = opts?.durable !== false;
      this.#pending.push({ fn, resolve: resolve as (v: unknown) => void, reject, durable });
      if (this.#pending.length >= this.#maxOps) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    let outcomes: Outcome[];
    const bg = this.#background !== undefined;
    try {
      if (!this.#db.open) throw new TypeError("The database connection is not open");
      if (bg) this.#sql.syncNormal.run();
      try {
        outcomes = this.#commit(batch, false) ?? (this.#commit(batch, true) as Outcome[]);
      } finally {
        if (bg && this.#db.open) this.#sql.syncFull.run();
      }
    } catch (err) {
      // BEGIN or COMMIT failed (e.g. the lock stayed busy past busy_timeout): nothing was written.
      for (const p of batch) p.reject(err);
      return;
    }
    if (!bg) {
      settle(batch, outcomes);
      return;
    }
    const waiting = splitDurable(batch, outcomes);
    if (waiting === undefined) return;
    this.#unsynced.push(waiting);
    if (!this.#syncing) this.#sync();
  }

  /** Syncs the log for every group committed so far; the groups committed meanwhile wait for the next. */
  #sync(): void {
    const bg = this.#background as Required<BackgroundSync>;
    const waiting = this.#unsynced;
    this.#unsynced = [];
    this.#syncing = true;
    const done = (err: Error | null) => {
      const failed = err && syncFailed(err);
      for (const w of waiting) {
        if (failed) for (const p of w.batch) p.reject(failed);
        else settle(w.batch, w.outcomes);
      }
      this.#syncing = false;
      if (this.#unsynced.length > 0) this.#sync();
      else if (this.#closed) this.#closeWal();
    };
    let fd = this.#walFd;
    if (fd === undefined) {
      try {
        fd = openSync(bg.walPath, "r");
        // The log may be new since the file was last closed: make its directory entry durable too,
        // as SQLite does on the first sync of a new log.
        const dir = openSync(dirname(bg.walPath), "r");
        try {
          fsyncSync(dir);
        } finally {
          closeSync(dir);
        }
      } catch (err) {
        if (fd !== undefined) closeSync(fd);
        done(err as Error);
        return;
      }
      this.#walFd = fd;
    }
    bg.datasync(fd, done);
  }

  /** Closes the log's descriptor once no sync runs; call when the connection closes. */
  close(): void {
    this.#closed = true;
    if (!this.#syncing) this.#closeWal();
  }

  #closeWal(): void {
    if (this.#walFd === undefined) return;
    closeSync(this.#walFd);
    this.#walFd = undefined;
  }

  /**
   * One transaction over the batch. Without savepoints, the first write that throws rolls the
   * whole transaction back, and the answer is undefined (run it again with savepoints) unless that
   * write was alone. A throw of BEGIN or COMMIT propagates, the transaction rolled back.
   */
  #commit(batch: Pending[], savepoints: boolean): Outcome[] | undefined {
    const s = this.#sql;
    const outcomes: Outcome[] = [];
    s.begin.run();
    try {
      for (const p of batch) {
        if (!savepoints) {
          try {
            outcomes.push({ ok: true, value: p.fn() });
          } catch (error) {
            // Undo what the failed write did before it threw; alone in the batch, that is the answer.
            this.#rollback();
            return batch.length === 1 ? [{ ok: false, error }] : undefined;
          }
          continue;
        }
        s.savepoint.run();
        try {
          outcomes.push({ ok: true, value: p.fn() });
          s.release.run();
        } catch (error) {
          if (!this.#db.inTransaction) throw error; // SQLite gave up the whole transaction
          s.rollbackTo.run();
          s.release.run();
          outcomes.push({ ok: false, error });
        }
      }
      s.commit.run();
      return outcomes;
    } catch (err) {
      this.#rollback();
      throw err;
    }
  }

  #rollback(): void {
    if (this.#db.inTransaction) this.#sql.rollback.run();
  }
}

/** Answers the writes that need no sync at once; returns the rest (undefined when none is left). */
function splitDurable(batch: Pending[], outcomes: Outcome[]): Waiter | undefined {
  const rest: Waiter = { batch: [], outcomes: [] };
  for (let i = 0; i < batch.length; i++) {
    const p = batch[i] as Pending;
    const o = outcomes[i] as Outcome;
    if (!p.durable) {
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    } else {
      rest.batch.push(p);
      rest.outcomes.push(o);
    }
  }
  return rest.batch.length === 0 ? undefined : rest;
}

/**
 * A log that could not be synced: the writes it held are committed but may not be on disk, so their
 * callers get a 503 they may retry (with an idempotency key, a retried submission finds its job).
 */
function syncFailed(err: Error): GatewayError {
  return new GatewayError(
    "store_unavailable",
    `The store (SQLite) could not sync its log to disk: ${err.message}`,
    {
      cause: err,
      retryAfterSeconds: 1,
    },
  );
}

function settle(batch: Pending[], outcomes: Outcome[]): void {
  for (let i = 0; i < batch.length; i++) {
    const o = outcomes[i] as Outcome;
    if (o.ok) batch[i]!.resolve(o.value);
    else batch[i]!.reject(o.error);
  }
}

function control(db: Database.Database) {
  return {
    syncNormal: db.prepare("PRAGMA synchronous = NORMAL"),
    syncFull: db.prepare("PRAGMA synchronous = FULL"),
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT switchyard_group_op"),
    release: db.prepare("RELEASE switchyard_group_op"),
    rollbackTo: db.prepare("ROLLBACK TO switchyard_group_op"),
  };
}
