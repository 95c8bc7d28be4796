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
];
