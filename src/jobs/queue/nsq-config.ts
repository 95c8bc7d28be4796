import { z } from "zod";

const ms = (min: number, max: number, dflt: number) => z.number().int().min(min).max(max).default(dflt);

/** `host:port` (a name, IPv4 or bracketed IPv6 address); no scheme, no path. */
const hostPort = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be host:port (no scheme, no path)");

/** One nsqd: its TCP address (consumers) and HTTP address (publishes, stats, setup). */
const nsqdNodeSchema = z
  .object({
    tcpAddress: hostPort,
    httpAddress: hostPort,
  })
  .strict();

/** A topic prefix: topics are `<prefix>_p<class>` and `<prefix>_dead` (NSQ allows 64 characters). */
const topicPrefix = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,48}$/, "must be 1-48 characters of A-Z a-z 0-9 . _ -");

/**
 * The distributed queue on NSQ (see docs/queue-nsq.md): one topic per priority class read through
 * one shared channel, deferred publishes for `notBefore`, per-message FIN / REQ / TOUCH for leases,
 * and a dead-letter topic.
 */
export const nsqQueueConfigSchema = z
  .object({
    kind: z.literal("nsq"),
    /**
     * The nsqd nodes this process publishes to (in order: the first that answers takes the message)
     * and reads from. With `lookupdHttpAddresses`, consumers also read from every nsqd that
     * nsqlookupd lists for the queue's topics.
     */
    nsqd: z
      .array(nsqdNodeSchema)
      .min(1)
      .max(32)
      .default([{ tcpAddress: "127.0.0.1:4150", httpAddress: "127.0.0.1:4151" }]),
    /** nsqlookupd HTTP addresses (`host:port`) for discovering more nsqd nodes to consume from. */
    lookupdHttpAddresses: z.array(hostPort).max(16).default([]),
    /** How often consumers ask nsqlookupd for the nodes of the queue's topics. */
    lookupdPollIntervalMs: ms(1_000, 3_600_000, 15_000),
    /** Topics are `<topicPrefix>_p<class>` (work) and `<topicPrefix>_dead` (dead letters). */
    topicPrefix: topicPrefix.default("switchyard_jobs"),
    /** The channel every worker reads through (one channel: each message goes to one worker). */
    channel: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 . _ -")
      .default("workers"),
    /**
     * Priority classes, each named by the lowest job priority it holds, highest class first (strictly
     * descending); a priority below the last bound goes to the last class.
     */
    priorityClasses: z
      .array(z.number().int())
      .min(1)
      .max(16)
      .default([1, 0, -1000])
      .refine((a) => a.every((v, i) => i === 0 || v < a[i - 1]!), {
        message: "priorityClasses must be strictly descending",
      }),
    /**
     * The server-side lease (`msg_timeout` sent in IDENTIFY): how soon a message held by a crashed or
     * cut-off process is delivered again. Must lie within nsqd's `--max-msg-timeout` (15 min by
     * default), which also caps every lease, TOUCH or not.
     */
    msgTimeoutMs: ms(1_000, 3_600_000, 60_000),
    /** nsqd's `--max-req-timeout`: longer delays (nack, notBefore) are taken in hops of this size. */
    maxReqTimeoutMs: ms(1_000, 86_400_000, 3_600_000),
    /** Deliveries after which a message is moved to the dead letters instead (0 = no limit). */
    maxAttempts: z.number().int().min(0).max(65_535).default(200),
    /**
     * Ids this handle published are remembered (while nsqd has not restarted) so that publishing one
     * again is a no-op: at most this many, each for at most `publishMemoryMs`.
     */
    publishMemorySize: z.number().int().min(0).max(10_000_000).default(100_000),
    publishMemoryMs: ms(0, 7 * 86_400_000, 3_600_000),
    /** A publish not answered `OK` by an nsqd within this time fails with `queue_unavailable`. */
    publishTimeoutMs: ms(100, 60_000, 5_000),
    /** Time limit of every other HTTP request to nsqd / nsqlookupd (stats, setup, lookups). */
    requestTimeoutMs: ms(100, 60_000, 5_000),
    /** How long a `receive` waits for messages it saw queued to arrive before it looks again. */
    fetchWaitMs: ms(10, 10_000, 200),
    /** Heartbeats between nsqd and a consumer (a silent peer is dropped after two missed). */
    heartbeatIntervalMs: ms(1_000, 60_000, 30_000),
    /** Reconnects never stop; the wait between tries grows from this ... */
    reconnectWaitMs: ms(10, 60_000, 250),
    /** ... up to this while an outage lasts. */
    reconnectMaxWaitMs: ms(100, 600_000, 5_000),
  })
  .strict()
  .refine((c) => c.reconnectMaxWaitMs >= c.reconnectWaitMs, {
    message: "reconnectMaxWaitMs must be at least reconnectWaitMs",
    path: ["reconnectMaxWaitMs"],
  });

export type NsqQueueConfig = z.infer<typeof nsqQueueConfigSchema>;
export type NsqQueueConfigInput = z.input<typeof nsqQueueConfigSchema>;
export type NsqdNode = NsqQueueConfig["nsqd"][number];

/** Topic names derived from the config. */
export function nsqTopics(cfg: NsqQueueConfig): { classes: string[]; dead: string } {
  return {
    classes: cfg.priorityClasses.map((_, i) => `${cfg.topicPrefix}_p${i}`),
    dead: `${cfg.topicPrefix}_dead`,
  };
}

/** The priority class of a priority: the first class whose bound it reaches, else the last. */
export function nsqPriorityClass(bounds: readonly number[], priority: number): number {
  const i = bounds.findIndex((b) => priority >= b);
  return i === -1 ? bounds.length - 1 : i;
}
