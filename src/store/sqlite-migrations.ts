/**
 * SQLite schema, as an append-only list of versioned migrations. Never edit a released migration:
 * add a new one with the next version (the jobs, idempotency and usage-ledger tables join here).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "api_keys",
    sql: `
      CREATE TABLE api_keys (
        id                      TEXT PRIMARY KEY,
        name                    TEXT NOT NULL,
        prefix                  TEXT NOT NULL,
        key_hash                TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
        allowed_models          TEXT,
        limits                  TEXT NOT NULL DEFAULT '{}',
        created_at              INTEGER NOT NULL,
        expires_at              INTEGER,
        revoked_at              INTEGER,
        usage_requests          INTEGER NOT NULL DEFAULT 0,
        usage_prompt_tokens     INTEGER NOT NULL DEFAULT 0,
        usage_completion_tokens INTEGER NOT NULL DEFAULT 0,
        last_used_at            INTEGER
      ) STRICT;
      CREATE TABLE api_key_usage_daily (
        key_id            TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
        day               INTEGER NOT NULL,
        requests          INTEGER NOT NULL DEFAULT 0,
        prompt_tokens     INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key_id, day)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: "jobs_idempotency_queue",
    sql: `
      CREATE TABLE jobs (
        id             TEXT PRIMARY KEY,
        owner          TEXT NOT NULL,
        principal      TEXT NOT NULL,
        type           TEXT NOT NULL,
        request        TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('PENDING','RUNNING','SUCCESS','FAILED','CANCELLED')),
        priority       INTEGER NOT NULL DEFAULT 0,
        run_after      INTEGER NOT NULL,
        deadline_at    INTEGER,
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
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        started_at     INTEGER,
        finished_at    INTEGER
      ) STRICT;
      CREATE INDEX jobs_by_owner ON jobs (owner, id);
      CREATE INDEX jobs_by_owner_status ON jobs (owner, status, id);
      CREATE INDEX jobs_by_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
      CREATE TABLE idempotency_keys (
        scope        TEXT NOT NULL,
        key          TEXT NOT NULL,
        fingerprint  TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('pending','done')),
        response     TEXT,
        locked_until INTEGER NOT NULL DEFAULT 0,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX idempotency_by_expiry ON idempotency_keys (expires_at);
      CREATE TABLE queue_messages (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        queue       TEXT NOT NULL,
        id          TEXT NOT NULL,
        payload     TEXT NOT NULL,
        priority    INTEGER NOT NULL DEFAULT 0,
        visible_at  INTEGER NOT NULL,
        dead        INTEGER NOT NULL DEFAULT 0,
        deliveries  INTEGER NOT NULL DEFAULT 0,
        lease_id    TEXT,
        dead_reason TEXT,
        enqueued_at INTEGER NOT NULL,
        UNIQUE (queue, id)
      ) STRICT;
      CREATE INDEX queue_ready ON queue_messages (queue, dead, priority DESC, visible_at, seq);
    `,
  },
  {
    version: 3,
    name: "job_leases",
    sql: `
      ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
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
