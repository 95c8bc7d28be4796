/**
 * PostgreSQL schema, as an append-only list of versioned migrations (the same versions as the
 * SQLite store's, without the SQLite queue table: a PostgreSQL store uses a networked queue).
 * Never edit a released migration: add a new one with the next version.
 *
 * Identifiers compare byte-wise (`COLLATE "C"`) whatever the database's locale, so that ids sort as
 * they do in SQLite (job ids sort by submission time). Times are BIGINT epoch milliseconds; JSON is
 * kept as TEXT, exactly as written.
 */
import type pg from "pg";
import type { Migration } from "./sqlite-migrations.js";

export type { Migration };

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "api_keys",
    sql: `
      CREATE TABLE api_keys (
        id                      TEXT COLLATE "C" PRIMARY KEY,
        name                    TEXT NOT NULL,
        prefix                  TEXT NOT NULL,
        key_hash                TEXT COLLATE "C" NOT NULL UNIQUE CHECK (length(key_hash) = 64),
        allowed_models          TEXT,
        limits                  TEXT NOT NULL DEFAULT '{}',
        created_at              BIGINT NOT NULL,
        expires_at              BIGINT,
        revoked_at              BIGINT,
        usage_requests          BIGINT NOT NULL DEFAULT 0,
        usage_prompt_tokens     BIGINT NOT NULL DEFAULT 0,
        usage_completion_tokens BIGINT NOT NULL DEFAULT 0,
        last_used_at            BIGINT
      );
      CREATE TABLE api_key_usage_daily (
        key_id            TEXT COLLATE "C" NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
        day               INTEGER NOT NULL,
        requests          BIGINT NOT NULL DEFAULT 0,
        prompt_tokens     BIGINT NOT NULL DEFAULT 0,
        completion_tokens BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (key_id, day)
      );
    `,
  },
  {
    version: 2,
    name: "jobs_idempotency",
    sql: `
      CREATE TABLE jobs (
        id             TEXT COLLATE "C" PRIMARY KEY,
        owner          TEXT COLLATE "C" NOT NULL,
        principal      TEXT NOT NULL,
        type           TEXT NOT NULL,
        request        TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('PENDING','RUNNING','SUCCESS','FAILED','CANCELLED')),
        priority       INTEGER NOT NULL DEFAULT 0,
        run_after      BIGINT NOT NULL,
        deadline_at    BIGINT,
        max_attempts   INTEGER NOT NULL,
        attempt_limit  INTEGER NOT NULL,
        attempts       INTEGER NOT NULL DEFAULT 0,
        attempt_errors TEXT NOT NULL DEFAULT '[]',
        run_token      TEXT,
        result         TEXT,
        error          TEXT,
        webhook        TEXT,
        webhook_state  TEXT,
        metadata       TEXT,
        traceparent    TEXT,
        created_at     BIGINT NOT NULL,
        updated_at     BIGINT NOT NULL,
        started_at     BIGINT,
        finished_at    BIGINT
      );
      CREATE INDEX jobs_by_owner ON jobs (owner, id);
      CREATE INDEX jobs_by_owner_status ON jobs (owner, status, id);
      CREATE INDEX jobs_by_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
      CREATE INDEX jobs_pending_by_update ON jobs (updated_at) WHERE status = 'PENDING';
      CREATE TABLE idempotency_keys (
        scope        TEXT COLLATE "C" NOT NULL,
        key          TEXT COLLATE "C" NOT NULL,
        fingerprint  TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('pending','done')),
        response     TEXT,
        locked_until BIGINT NOT NULL DEFAULT 0,
        created_at   BIGINT NOT NULL,
        expires_at   BIGINT NOT NULL,
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX idempotency_by_expiry ON idempotency_keys (expires_at);
    `,
  },
  {
    version: 3,
    name: "job_leases",
    sql: `
      ALTER TABLE jobs ADD COLUMN lease_until BIGINT;
      CREATE INDEX jobs_running_by_lease ON jobs (lease_until) WHERE status = 'RUNNING';
    `,
  },
  {
    version: 4,
    name: "job_tracestate",
    sql: `
      ALTER TABLE jobs ADD COLUMN tracestate TEXT;
    `,
  },
];

/** Raised when the database was migrated by a newer Switchyard whose schema this one does not know. */
export class PostgresSchemaError extends Error {
  override name = "StoreSchemaError";
}

/** Both halves of the advisory lock key: one lock per schema, shared by every Switchyard process. */
const LOCK_SQL = "hashtext('switchyard.store.migrations'), hashtext($1)";

/**
 * Applies every migration not yet recorded in `schema_migrations`, each in its own transaction,
 * while holding a session advisory lock: when several gateways start at once, the first migrates
 * and the others wait for the lock, then find nothing left to do. Safe to run on every start.
 * Returns the versions this call applied.
 */
export async function migratePostgres(
  client: pg.Client,
  schema: string,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  await client.query(`SELECT pg_advisory_lock(${LOCK_SQL})`, [schema]);
  try {
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (
         version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const rows = await client.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations`);
    const done = new Set(rows.rows.map((r) => r.version));
    const latest = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    const newest = Math.max(0, ...done);
    if (newest > latest) {
      throw new PostgresSchemaError(
        `database schema version ${newest} (schema "${schema}") is newer than this Switchyard knows (${latest}); upgrade Switchyard`,
      );
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(`SET LOCAL search_path TO "${schema}"`);
        await client.query(m.sql);
        await client.query(
          `INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
          [m.version, m.name, Date.now()],
        );
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${LOCK_SQL})`, [schema]).catch(() => {});
  }
}
