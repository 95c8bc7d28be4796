import { z } from "zod";

/** The embedded SQLite file: one file (plus its `-wal` and `-shm`) in the working folder by default. */
export const sqliteStoreConfigSchema = z
  .object({
    kind: z.literal("sqlite").default("sqlite"),
    /** Database file, relative to the working folder; `:memory:` for a private in-memory store. */
    path: z.string().min(1).default("./switchyard.db"),
    /** How long a statement waits for another process's write lock before failing. */
    busyTimeoutMs: z.number().int().min(0).max(60_000).default(5_000),
    /**
     * When a commit reaches the disk. `full`: every commit is synced (survives an OS crash or power
     * loss). `normal`: the log is synced at checkpoints only; a commit survives a process kill, but
     * an OS crash or power loss can undo the last ones (the file never corrupts). Unset means `full`.
     */
    synchronous: z.enum(["full", "normal"]).optional(),
  })
  .strict();

const ms = (min: number, max: number, dflt: number) => z.number().int().min(min).max(max).default(dflt);

/** TLS to PostgreSQL: `true` verifies the server against the system CAs; an object tunes it. */
const postgresSslSchema = z
  .union([
    z.boolean(),
    z
      .object({
        /** Refuse a server whose certificate does not verify (keep it on outside tests). */
        rejectUnauthorized: z.boolean().default(true),
        /** PEM file of the CA that signed the server's certificate. */
        caFile: z.string().min(1).optional(),
        /** Client certificate and its key (PEM files), for certificate authentication. */
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** Host name to verify instead of the URL's host. */
        servername: z.string().min(1).optional(),
      })
      .strict()
      .refine((s) => (s.certFile === undefined) === (s.keyFile === undefined), {
        message: "certFile and keyFile go together",
      }),
  ])
  .default(false);

/** PostgreSQL, shared by many gateways and workers (see docs/store-postgres.md). */
export const postgresStoreConfigSchema = z
  .object({
    kind: z.literal("postgres"),
    /** `postgres://user:password@host:5432/db` (write the password as `${ENV}`); its `sslmode` wins over `ssl`. */
    url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, "url must be a postgres:// or postgresql:// URL"),
    /** Schema holding Switchyard's tables; created when missing. */
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "schema must be a lower-case SQL identifier (a-z, 0-9, _)")
      .default("public"),
    /** Connections per process, at most. */
    poolMax: z.number().int().min(1).max(200).default(10),
    /** How long to wait for a connection (a new one, or a free one from a full pool). */
    connectTimeoutMs: ms(100, 120_000, 5_000),
    /** Server-side limit per statement (`statement_timeout`). */
    statementTimeoutMs: ms(100, 600_000, 10_000),
    /** Server-side limit on a transaction left idle (`idle_in_transaction_session_timeout`). */
    idleInTransactionTimeoutMs: ms(100, 600_000, 10_000),
    /** Idle pooled connections are closed after this long; 0 keeps them. */
    idleTimeoutMs: ms(0, 3_600_000, 30_000),
    ssl: postgresSslSchema,
  })
  .strict();

/**
 * `store:` in the config. A tagged union on `kind` (`sqlite` or `postgres`); `kind` may be left
 * out for SQLite, and the whole block may be left out for the embedded default.
 */
export const storeConfigSchema = z
  .discriminatedUnion("kind", [sqliteStoreConfigSchema, postgresStoreConfigSchema])
  .prefault({});

export type StoreConfig = z.infer<typeof storeConfigSchema>;
export type StoreConfigInput = z.input<typeof storeConfigSchema>;
export type SqliteStoreConfig = z.infer<typeof sqliteStoreConfigSchema>;
export type PostgresStoreConfig = z.infer<typeof postgresStoreConfigSchema>;

export const DEFAULT_STORE_PATH = "./switchyard.db";
