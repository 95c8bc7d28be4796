import type Database from "better-sqlite3";

interface Pending {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

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
 */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #maxOps: number;
  readonly #sql: ReturnType<typeof control>;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(db: Database.Database, opts: { maxOps?: number } = {}) {
    this.#db = db;
    this.#maxOps = opts.maxOps ?? 256;
    this.#sql = control(db);
  }

  /** Runs `fn` (synchronous statements) in the next group; resolves with its result once committed. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
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
    try {
      if (!this.#db.open) throw new TypeError("The database connection is not open");
      outcomes = this.#commit(batch, false) ?? (this.#commit(batch, true) as Outcome[]);
    } catch (err) {
      // BEGIN or COMMIT failed (e.g. the lock stayed busy past busy_timeout): nothing was written.
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i] as Outcome;
      if (o.ok) batch[i]!.resolve(o.value);
      else batch[i]!.reject(o.error);
    }
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

function control(db: Database.Database) {
  return {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT switchyard_group_op"),
    release: db.prepare("RELEASE switchyard_group_op"),
    rollbackTo: db.prepare("ROLLBACK TO switchyard_group_op"),
  };
}
