/**
 * The PostgreSQL store: the same repositories and semantics as the SQLite store, over a bounded
 * `pg` pool, for many gateways and workers sharing one database (docs/store-postgres.md).
 */
import pg from "pg";
import { type PostgresStoreConfig, postgresStoreConfigSchema } from "./config.js";
import { clientConfig, createPool, mapError, PgDb } from "./postgres-db.js";
import { PostgresIdempotencyRepository } from "./postgres-idempotency.js";
import { PostgresJobRepository } from "./postgres-jobs.js";
import { PostgresKeyRepository } from "./postgres-keys.js";
import { migratePostgres, POSTGRES_MIGRATIONS } from "./postgres-migrations.js";
import type { Store } from "./types.js";

export { PostgresSchemaError } from "./postgres-migrations.js";

/** Migrations may wait for another process's migration (the advisory lock) longer than a statement may. */
const MIGRATION_TIMEOUT_MS = 120_000;

/**
 * Runs the migrations on a connection of their own (not from the pool), under the advisory lock.
 * A database that cannot be reached rejects with `store_unavailable`.
 */
async function migrate(cfg: PostgresStoreConfig): Promise<number[]> {
  const client = new pg.Client(clientConfig(cfg, Math.max(cfg.statementTimeoutMs, MIGRATION_TIMEOUT_MS)));
  client.on("error", () => {});
  try {
    await client.connect();
    return await migratePostgres(client, cfg.schema, POSTGRES_MIGRATIONS);
  } catch (err) {
    throw mapError(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Opens the PostgreSQL store: migrates the schema (creating it when missing), then opens the pool. */
export async function openPostgresStore(input: PostgresStoreConfig): Promise<PostgresStore> {
  // Checked again here: the schema name is written into SQL, so only a validated one may pass.
  const cfg = postgresStoreConfigSchema.parse(input);
  const applied = await migrate(cfg);
  return new PostgresStore(createPool(cfg), applied);
}

export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly keys: PostgresKeyRepository;
  readonly jobs: PostgresJobRepository;
  readonly idempotency: PostgresIdempotencyRepository;
  /** Migration versions this open applied (empty when the schema was already up to date). */
  readonly applied: readonly number[];
  readonly #pool: pg.Pool;
  #closed: Promise<void> | undefined;

  constructor(pool: pg.Pool, applied: readonly number[]) {
    this.#pool = pool;
    this.applied = Object.freeze([...applied]);
    const db = new PgDb(pool);
    this.keys = new PostgresKeyRepository(db);
    this.jobs = new PostgresJobRepository(db);
    this.idempotency = new PostgresIdempotencyRepository(db);
  }

  /** Pool occupancy, for diagnostics and tests. */
  get poolStats(): { total: number; idle: number; waiting: number } {
    const p = this.#pool;
    return { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
  }

  async close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    await this.#closed;
  }
}
