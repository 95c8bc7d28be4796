import { z } from "zod";

/** The embedded SQLite file: one file (plus its `-wal` and `-shm`) in the working folder by default. */
export const sqliteStoreConfigSchema = z
  .object({
    kind: z.literal("sqlite").default("sqlite"),
    /** Database file, relative to the working folder; `:memory:` for a private in-memory store. */
    path: z.string().min(1).default("./switchyard.db"),
    /** How long a statement waits for another process's write lock before failing. */
    busyTimeoutMs: z.number().int().min(0).max(60_000).default(5_000),
  })
  .strict();

/**
 * `store:` in the config. A tagged union on `kind` (`sqlite` now, `postgres` later); `kind` may be
 * left out for SQLite, and the whole block may be left out for the embedded default.
 */
export const storeConfigSchema = z.discriminatedUnion("kind", [sqliteStoreConfigSchema]).prefault({});

export type StoreConfig = z.infer<typeof storeConfigSchema>;
export type StoreConfigInput = z.input<typeof storeConfigSchema>;
export type SqliteStoreConfig = z.infer<typeof sqliteStoreConfigSchema>;

export const DEFAULT_STORE_PATH = "./switchyard.db";
