import type { IdempotencyAcquire, IdempotencyRepository } from "./job-types.js";
import type { PgDb } from "./postgres-db.js";

interface Row {
  fingerprint: string;
  state: "pending" | "done";
  response: string | null;
}

/**
 * Takes the key when it is free, expired, or a pending record of the same request whose lock ran
 * out; otherwise it locks the live record (for the rest of the transaction) and returns nothing.
 */
const TAKE = `
  INSERT INTO idempotency_keys AS i (scope, key, fingerprint, state, response, locked_until, created_at, expires_at)
  VALUES ($1, $2, $3, 'pending', NULL, $5, $4, $6)
  ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'pending',
    response = NULL, locked_until = excluded.locked_until, created_at = excluded.created_at,
    expires_at = excluded.expires_at
  WHERE i.expires_at <= $4
    OR (i.fingerprint = excluded.fingerprint AND i.state = 'pending' AND i.locked_until <= $4)
  RETURNING 1`;

/**
 * Idempotency records in PostgreSQL. `acquire` is one transaction around an INSERT … ON CONFLICT,
 * so concurrent callers with one key serialise on its row: exactly one of them acquires it.
 */
export class PostgresIdempotencyRepository implements IdempotencyRepository {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async acquire(
    scope: string,
    key: string,
    fingerprint: string,
    now: number,
    lockUntil: number,
    expiresAt: number,
  ): Promise<IdempotencyAcquire> {
    return this.#db.tx(async (c): Promise<IdempotencyAcquire> => {
      const took = await c.query(TAKE, [scope, key, fingerprint, now, lockUntil, expiresAt]);
      if (took.rowCount === 1) return { kind: "acquired" };
      const res = await c.query<Row>(
        "SELECT fingerprint, state, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
        [scope, key],
      );
      const row = res.rows[0];
      if (!row) return { kind: "pending" };
      if (row.fingerprint !== fingerprint) return { kind: "conflict" };
      if (row.state === "done") return { kind: "done", response: row.response ?? "" };
      return { kind: "pending" };
    });
  }

  async complete(scope: string, key: string, response: string, expiresAt: number): Promise<void> {
    await this.#db.query(
      "UPDATE idempotency_keys SET state = 'done', response = $1, expires_at = $2 WHERE scope = $3 AND key = $4",
      [response, expiresAt, scope, key],
    );
  }

  async release(scope: string, key: string): Promise<void> {
    await this.#db.query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'pending'", [
      scope,
      key,
    ]);
  }

  async purge(now: number): Promise<number> {
    const res = await this.#db.query("DELETE FROM idempotency_keys WHERE expires_at <= $1", [now]);
    return res.rowCount ?? 0;
  }
}
