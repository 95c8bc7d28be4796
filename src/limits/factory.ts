/** Builds the `RateLimitStore` the config names. */
import type { LimitStoreConfig } from "./config.js";
import { MemoryRateLimitStore } from "./memory.js";
import type { RateLimitStore } from "./types.js";

export interface StoreDeps {
  /** Redis connection errors (the client keeps reconnecting by itself); for a log line and a metric. */
  onError?: (err: Error) => void;
}

/**
 * The store of `limits.store`. For Redis it waits up to `connectTimeoutMs` for the first
 * connection, and returns anyway if Redis is down (calls then fail as unavailable, and the failure
 * mode applies, until Redis is reachable). `ioredis` is only loaded for a Redis store.
 */
export async function createRateLimitStore(
  cfg: LimitStoreConfig,
  deps: StoreDeps = {},
): Promise<RateLimitStore> {
  if (cfg.kind === "memory") return new MemoryRateLimitStore({ maxKeys: cfg.maxKeys });
  const { RedisRateLimitStore } = await import("./redis.js");
  const store = new RedisRateLimitStore({
    url: cfg.url,
    keyPrefix: cfg.keyPrefix,
    commandTimeoutMs: cfg.commandTimeoutMs,
    connectTimeoutMs: cfg.connectTimeoutMs,
    earlyStart: cfg.earlyStart ? { minRoom: cfg.earlyStartMinRoom } : false,
    ...(deps.onError ? { onError: deps.onError } : {}),
  });
  await store.ready(cfg.connectTimeoutMs).catch(() => undefined);
  return store;
}
