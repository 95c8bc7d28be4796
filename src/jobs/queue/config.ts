import { z } from "zod";
import { kafkaQueueConfigSchema } from "./kafka-config.js";
import { natsQueueConfigSchema } from "./nats-config.js";
import { nsqQueueConfigSchema } from "./nsq-config.js";
import { redisQueueConfigSchema } from "./redis-config.js";

/**
 * The embedded queue: a table in the store's SQLite file (`store.kind: sqlite` is required), so a
 * job row and its message live in one file.
 */
export const sqliteQueueConfigSchema = z
  .object({
    kind: z.literal("sqlite"),
  })
  .strict();

/**
 * `jobs.queue:` in the config. A tagged union on `kind`: `sqlite` (the default, in the store's file);
 * the distributed adapters (NATS JetStream, Redis Streams) add their own kinds.
 */
export const queueConfigSchema = z
  .discriminatedUnion("kind", [
    sqliteQueueConfigSchema,
    redisQueueConfigSchema,
    natsQueueConfigSchema,
    kafkaQueueConfigSchema,
    nsqQueueConfigSchema,
  ])
  .prefault({ kind: "sqlite" });

export type QueueConfig = z.infer<typeof queueConfigSchema>;
export type QueueConfigInput = z.input<typeof queueConfigSchema>;
