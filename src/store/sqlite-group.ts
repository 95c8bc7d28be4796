import type Database from "better-sqlite3";

interface Pending {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for one SQLite connection. Writes asked for in the same turn of the event loop run
 * in one IMMEDIATE transaction, each inside its own savepoint, so N concurrent writers pay for one
 * disk sync (`synchronous=FULL`) instead of N, and one writer's failure rolls back only its own
 * statements. A caller's promise settles only after the shared COMMIT, so a resolved write is
 * durable. With a single writer the cost is one `setImmediate` hop.
 */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #maxOps: number;
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(db: Database.Database, opts: { maxOps?: number } = {}) {
    this.#db = db;
    this.#maxOps = opts.maxOps ?? 256;
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
    if (!this.#db.open) {
      for (const p of batch) p.reject(new TypeError("The database connection is not open"));
      return;
    }
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.#db
        .transaction(() => {
          for (const p of batch) {
            try {
              // A nested better-sqlite3 transaction is a SAVEPOINT: a throw undoes only this op.
              outcomes.push({ ok: true, value: this.#db.transaction(p.fn)() });
            } catch (err) {
              outcomes.push({ ok: false, value: err });
            }
          }
        })
        .immediate();
    } catch (err) {
      // BEGIN or COMMIT failed (e.g. the lock stayed busy past busy_timeout): nothing was written.
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.value);
    });
  }
}
