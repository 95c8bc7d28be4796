import { z } from "zod";

const positiveInt = z.number().int().positive();

/**
 * `jobs.queue: {kind: redis, …}`: the job queue on Redis Streams (see docs/queue-redis.md). Every
 * key of one queue carries the hash tag `{name}`, so a queue lives in one Redis Cluster slot.
 */
export const redisQueueConfigSchema = z
  .object({
    kind: z.literal("redis"),
    /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS); use `${ENV}` for the password. */
    url: z.string().regex(/^rediss?:\/\/[^\s]+$/, "must be a redis:// or rediss:// URL"),
    /** Prepended to every key; no braces (the queue name is the hash tag). */
    keyPrefix: z
      .string()
      .max(128)
      .regex(/^[^{}\s]*$/, "must not contain braces or spaces")
      .default("switchyard:queue:"),
    /** The queue's name inside the prefix (several queues may share one Redis). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "1–64 letters, digits, '.', '_' or '-'")
      .default("jobs"),
    /** Longest wait for one Redis reply; past it `publish` fails with `queue_unavailable`. */
    commandTimeoutMs: positiveInt.max(60_000).default(1_000),
    /** Longest wait for a TCP (and TLS) connection; also how long start-up waits for Redis. */
    connectTimeoutMs: positiveInt.max(60_000).default(2_000),
    /** Dead letters kept; past it the oldest are dropped (and their ids may be published again). */
    deadLetterMaxLen: positiveInt.max(10_000_000).default(100_000),
    /** Due messages moved from the schedule into the streams per `receive` (bounds one script's run time). */
    promoteBatch: positiveInt.max(10_000).default(1_000),
    /** TLS settings for `rediss://` URLs. */
    tls: z
      .object({
        /** PEM file of the CA that signed the server's certificate (default: the system's CAs). */
        caFile: z.string().min(1).optional(),
        /** Name checked against the certificate (default: the URL's host). */
        serverName: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => !c.tls || c.url.startsWith("rediss://"), {
    message: "tls settings need a rediss:// url",
    path: ["tls"],
  });

export type RedisQueueConfig = z.infer<typeof redisQueueConfigSchema>;
export type RedisQueueConfigInput = z.input<typeof redisQueueConfigSchema>;
