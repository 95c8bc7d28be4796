/** The queue's public surface: the interface and the factory that picks an adapter from the store config. */
import type { StoreConfig } from "../../store/config.js";
import type { Queue } from "./types.js";

export type { DeadLetter, Delivery, PublishOptions, Queue, QueueStats, ReceiveOptions } from "./types.js";

export interface QueueOptions {
  pollIntervalMs?: number;
}

/**
 * Opens the queue for a deployment. The embedded profile keeps it in the store's SQLite file; the
 * distributed adapters (NATS JetStream, Redis Streams) join here with their own config kinds.
 */
export async function createQueue(store: StoreConfig, opts: QueueOptions = {}): Promise<Queue> {
  switch (store.kind) {
    case "sqlite": {
      const { openSqliteQueue } = await import("./sqlite.js");
      return openSqliteQueue(store, { pollIntervalMs: opts.pollIntervalMs });
    }
  }
}
