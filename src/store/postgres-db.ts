/**
 * The PostgreSQL connection pool of the store: per-connection timeouts and search path, BIGINT as
 * numbers, and one mapping of "the database cannot be used right now" to `store_unavailable`.
 * The pool heals by itself: a broken connection is dropped and the next call opens a new one.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { GatewayError } from "../core/errors.js";
import type { PostgresStoreConfig } from "./config.js";

/** BIGINT (epoch ms, counters) as a JS number: every value the store writes is a safe integer. */
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

function sslOptions(ssl: PostgresStoreConfig["ssl"]): boolean | ConnectionOptions {
  if (typeof ssl === "boolean") return ssl;
  const read = (f: string | undefined) => (f === undefined ? undefined : readFileSync(f, "utf8"));
  return {
    rejectUnauthorized: ssl.rejectUnauthorized,
    ca: read(ssl.caFile),
    cert: read(ssl.certFile),
    key: read(ssl.keyFile),
    servername: ssl.servername,
  };
}

/** Client settings shared by the pool and the migration connection. */
export function clientConfig(
  cfg: PostgresStoreConfig,
  statementTimeoutMs = cfg.statementTimeoutMs,
): pg.ClientConfig {
  return {
    connectionString: cfg.url,
    ssl: sslOptions(cfg.ssl),
    types,
    application_name: "switchyard",
    connectionTimeoutMillis: cfg.connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: cfg.idleInTransactionTimeoutMs,
    // A server that stops answering (hung, or the network dropped without a reset) is given up on
    // shortly after its own statement timeout would have fired.
    query_timeout: statementTimeoutMs + Math.min(cfg.connectTimeoutMs, 5_000),
    options: `-c search_path=${cfg.schema}`,
    keepAlive: true,
  };
}

export function createPool(cfg: PostgresStoreConfig): pg.Pool {
  const pool = new pg.Pool({
    ...clientConfig(cfg),
    max: cfg.poolMax,
    idleTimeoutMillis: cfg.idleTimeoutMs,
  });
  // An idle connection broken by a server restart: the pool drops it; the next call reconnects.
  pool.on("error", () => {});
  return pool;
}

const NET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);
const DRIVER_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|not queryable|timeout expired|Connection ended|server closed the connection|connection is insecure/i;

/**
 * True for failures that mean the database cannot be used now (down, restarting, unreachable,
 * out of connections, too slow) rather than a wrong statement: SQLSTATE classes 08 (connection),
 * 28 (authorization), 53 (resources), 57 (operator intervention, statement timeout), 58 (system)
 * and 25P03 (idle in transaction too long), plus the driver's own network and timeout errors.
 */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof GatewayError) return err.code === "store_unavailable";
  const code = (err as { code?: unknown }).code;
  if (err instanceof pg.DatabaseError && typeof code === "string") {
    return ["08", "28", "53", "57", "58"].includes(code.slice(0, 2)) || code === "25P03";
  }
  if (typeof code === "string" && NET_CODES.has(code)) return true;
  return DRIVER_MESSAGES.test(err.message);
}

/** `store_unavailable` for an outage (the message says why; it never holds the URL), else `err` as is. */
export function mapError(err: unknown): unknown {
  if (err instanceof GatewayError || !isUnavailable(err)) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new GatewayError("store_unavailable", `The store (PostgreSQL) is unavailable: ${why}`, {
    cause: err,
    retryAfterSeconds: 1,
  });
}

const RETRY_TX = new Set(["40001", "40P01"]);

/** The store's handle on the pool: single statements, and transactions that retry on deadlock. */
export class PgDb {
  constructor(readonly pool: pg.Pool) {}

  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw mapError(err);
    }
  }

  async rows<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.query<R>(text, values)).rows;
  }

  /** Runs `fn` in one transaction (READ COMMITTED); a deadlock or serialization failure runs it again. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(fn);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (attempt >= 3 || typeof code !== "string" || !RETRY_TX.has(code)) throw mapError(err);
      }
    }
  }

  async #once<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client has no listener of its own: without this one, a connection lost between
    // two statements of the transaction would be an uncaught 'error' event. The failure itself
    // reaches the next statement.
    const ignore = () => {};
    client.on("error", ignore);
    try {
      await client.query("BEGIN");
      const out = await fn(client);
      await client.query("COMMIT");
      client.off("error", ignore);
      client.release();
      return out;
    } catch (err) {
      client.off("error", ignore);
      if (isUnavailable(err)) {
        // The connection may be broken or still busy: drop it rather than hand it out again.
        client.release(true);
      } else {
        try {
          await client.query("ROLLBACK");
          client.release();
        } catch {
          client.release(true);
        }
      }
      throw err;
    }
  }
}
