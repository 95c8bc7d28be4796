import type Database from "better-sqlite3";
import type { IdempotencyAcquire, IdempotencyRepository } from "./job-types.js";

interface Row {
  fingerprint: string;
  state: "pending" | "done";
  response: string | null;
  locked_until: number;
  expires_at: number;
}

/** Idempotency records in SQLite; `acquire` is one IMMEDIATE transaction, so concurrent callers serialise. */
export class SqliteIdempotencyRepository implements IdempotencyRepository {
  readonly #acquire: (
    scope: string,
    key: string,
    fp: string,
    now: number,
    lockUntil: number,
    exp: number,
  ) => IdempotencyAcquire;
  readonly #complete: Database.Statement;
  readonly #release: Database.Statement;
  readonly #purge: Database.Statement;

  constructor(db: Database.Database) {
    const get = db.prepare<[string, string], Row>(
      "SELECT fingerprint, state, response, locked_until, expires_at FROM idempotency_keys WHERE scope = ? AND key = ?",
    );
    const put = db.prepare(
      `INSERT INTO idempotency_keys (scope, key, fingerprint, state, response, locked_until, created_at, expires_at)
       VALUES (?, ?, ?, 'pending', NULL, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'pending',
         response = NULL, locked_until = excluded.locked_until, created_at = excluded.created_at,
         expires_at = excluded.expires_at`,
    );
    const tx = db.transaction(
      (scope: string, key: string, fp: string, now: number, lockUntil: number, exp: number) => {
        const row = get.get(scope, key);
        if (row && row.expires_at > now) {
          if (row.fingerprint !== fp) return { kind: "conflict" } as const;
          if (row.state === "done") return { kind: "done", response: row.response ?? "" } as const;
          if (row.locked_until > now) return { kind: "pending" } as const;
        }
        put.run(scope, key, fp, lockUntil, now, exp);
        return { kind: "acquired" } as const;
      },
    );
    this.#acquire = (...a) => tx.immediate(...a);
    this.#complete = db.prepare(
      "UPDATE idempotency_keys SET state = 'done', response = ?, expires_at = ? WHERE scope = ? AND key = ?",
    );
    this.#release = db.prepare(
      "DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND state = 'pending'",
    );
    this.#purge = db.prepare("DELETE FROM idempotency_keys WHERE expires_at <= ?");
  }

  async acquire(
    scope: string,
    key: string,
    fingerprint: string,
    now: number,
    lockUntil: number,
    expiresAt: number,
  ): Promise<IdempotencyAcquire> {
    return this.#acquire(scope, key, fingerprint, now, lockUntil, expiresAt);
  }

  async complete(scope: string, key: string, response: string, expiresAt: number): Promise<void> {
    this.#complete.run(response, expiresAt, scope, key);
  }

  async release(scope: string, key: string): Promise<void> {
    this.#release.run(scope, key);
  }

  async purge(now: number): Promise<number> {
    return this.#purge.run(now).changes;
  }
}
