/** The store's public surface: the interface, its config and the factory that picks an adapter. */
import type { StoreConfig, StoreConfigInput } from "./config.js";
import { storeConfigSchema } from "./config.js";
import type { Store } from "./types.js";

export {
  DEFAULT_STORE_PATH,
  type PostgresStoreConfig,
  type SqliteStoreConfig,
  type StoreConfig,
  type StoreConfigInput,
  storeConfigSchema,
} from "./config.js";
export type {
  KeyRecord,
  KeyRepository,
  KeyUsage,
  NewKey,
  Store,
  UsageDelta,
  UsageEntry,
  UsageTotals,
} from "./types.js";
export { UsageRecorder, type UsageRecorderOptions } from "./usage-recorder.js";

/**
 * Opens the store the config names, creating and migrating it when needed. The adapter is loaded
 * on demand, so a gateway that needs no store never loads a native module or a database driver.
 */
export async function createStore(cfg: StoreConfig | StoreConfigInput = {}): Promise<Store> {
  const parsed = storeConfigSchema.parse(cfg);
  switch (parsed.kind) {
    case "sqlite": {
      const { openSqliteStore } = await import("./sqlite.js");
      return openSqliteStore(parsed);
    }
    case "postgres": {
      const { openPostgresStore } = await import("./postgres.js");
      return openPostgresStore(parsed);
    }
  }
}
