/** The queue's public surface: the interface and the factory that picks an adapter from the store config. */
import type { StoreConfig } from "../../store/config.js";
import type { QueueConfig } from "./config.js";
import type { Queue } from "./types.js";

export { type QueueConfig, type QueueConfigInput, queueConfigSchema } from "./config.js";
export type {
  AckOptions,
  DeadLetter,
  Delivery,
  PublishOptions,
  Queue,
  QueueStats,
  ReceiveOptions,
} from "./types.js";

export interface QueueOptions {
  pollIntervalMs?: number;
  /** Broker connection errors of the networked adapters (they keep reconnecting); for logs. */
  onError?: (err: Error) => void;
}

/**
 * Opens the queue `jobs.queue` names. The embedded `sqlite` queue lives in the store's SQLite file;
 * the distributed adapters connect to their broker. The adapter is loaded on demand.
 */
export async function createQueue(
  queue: QueueConfig,
  store: StoreConfig,
  opts: QueueOptions = {},
): Promise<Queue> {
  switch (queue.kind) {
    case "sqlite": {
      if (store.kind !== "sqlite") {
        // The config schema refuses this combination; kept for callers that build configs by hand.
        throw new Error(
          "jobs.queue.kind sqlite keeps the queue in the store's SQLite file: it needs store.kind sqlite",
        );
      }
      const { openSqliteQueue } = await import("./sqlite.js");
      return openSqliteQueue(store, { pollIntervalMs: opts.pollIntervalMs });
    }
    case "redis": {
      const { openRedisQueue } = await import("./redis.js");
      return openRedisQueue(queue, { pollIntervalMs: opts.pollIntervalMs, onError: opts.onError });
    }
    case "nats": {
      const { openNatsQueue } = await import("./nats.js");
      return openNatsQueue(queue, { pollIntervalMs: opts.pollIntervalMs, onError: opts.onError });
    }
    case "kafka": {
      const { openKafkaQueue } = await import("./kafka.js");
      return openKafkaQueue(queue, { onError: opts.onError });
    }
    case "nsq": {
      const { openNsqQueue } = await import("./nsq.js");
      return openNsqQueue(queue, { onError: opts.onError });
    }
  }
}
