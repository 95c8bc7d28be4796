import { z } from "zod";
import {
  ms,
  priorityClassesSchema,
  RECONNECT_WAITS_ISSUE,
  reconnectWaitsGrow,
  TLS_FILES_ISSUE,
  tlsFilesPaired,
  tlsFilesShape,
} from "./net-config.js";

/** A Kafka topic or group name part: the characters Kafka allows, no path separators. */
const kafkaName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,200}$/, "must be 1-200 characters of A-Z a-z 0-9 . _ -");

const brokerAddress = z
  .string()
  .regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, "must be host:port (credentials go in sasl)");

const kafkaTlsSchema = z
  .object({
    ...tlsFilesShape,
    /** Name checked against the certificates (default: the broker's host). */
    serverName: z.string().min(1).optional(),
  })
  .strict()
  .refine(tlsFilesPaired, TLS_FILES_ISSUE);

const kafkaSaslSchema = z
  .object({
    mechanism: z.enum(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
    username: z.string().min(1),
    /** Write it as `${ENV}`. */
    password: z.string().min(1),
  })
  .strict();

/**
 * The distributed queue on Apache Kafka (see docs/queue-kafka.md): one topic per priority class read
 * by a consumer group, a dead-letter topic beside them; leases, delays and redeliveries are kept by
 * the group member that owns a message's partition.
 */
export const kafkaQueueConfigSchema = z
  .object({
    kind: z.literal("kafka"),
    /** Bootstrap brokers; the client learns the rest of the cluster from them. */
    brokers: z.array(brokerAddress).min(1).max(32).default(["127.0.0.1:9092"]),
    /** Topics are `<topicPrefix>.p<class>` (one per priority class) and `<topicPrefix>.dead`. */
    topicPrefix: kafkaName.default("switchyard.jobs"),
    /** The consumer group every worker joins. */
    groupId: kafkaName.default("switchyard-workers"),
    /** Client id shown in the brokers' logs and quotas. */
    clientId: kafkaName.default("switchyard"),
    /** Partitions of each priority topic when the queue creates it (the unit of parallelism). */
    partitions: z.number().int().min(1).max(10_000).default(12),
    /** Copies of each topic when the queue creates it (3 in a cluster that must survive a broker loss). */
    replicationFactor: z.number().int().min(1).max(16).default(1),
    /** See `priorityClassesSchema`: the bounds of the classes, highest first. */
    priorityClasses: priorityClassesSchema,
    sasl: kafkaSaslSchema.optional(),
    tls: kafkaTlsSchema.optional(),
    /** A publish not acknowledged by all in-sync replicas within this time fails with `queue_unavailable`. */
    publishTimeoutMs: ms(100, 60_000, 5_000),
    /** Time limit of one request to a broker (fetch long-polls excepted). */
    requestTimeoutMs: ms(100, 60_000, 5_000),
    /** Time limit of a TCP (and TLS) connection to a broker. */
    connectTimeoutMs: ms(100, 60_000, 5_000),
    /** A group member silent this long is dropped and its partitions go to the others (≥ the brokers' `group.min.session.timeout.ms`). */
    sessionTimeoutMs: ms(1_000, 1_800_000, 10_000),
    /** How often a member tells the group it is alive (at most a third of `sessionTimeoutMs`). */
    heartbeatIntervalMs: ms(100, 600_000, 1_000),
    /** How long the group waits for every member to rejoin during a rebalance. */
    rebalanceTimeoutMs: ms(1_000, 1_800_000, 30_000),
    /** Longest wait of one fetch when nothing is new (Kafka's `fetch.max.wait.ms`). */
    fetchMaxWaitMs: ms(10, 30_000, 500),
    /** Messages a member holds in memory (ready, delayed or leased) before it stops fetching. */
    maxBufferedMessages: z.number().int().min(10).max(1_000_000).default(10_000),
    /** Deliveries after which a message is moved to the dead letters instead (0 = no limit). */
    maxDeliver: z.number().int().min(0).max(100_000).default(200),
    /** Wait before a member restarts its fetching after a broker error ... */
    reconnectWaitMs: ms(10, 60_000, 250),
    /** ... growing up to this while the outage lasts. */
    reconnectMaxWaitMs: ms(100, 600_000, 5_000),
  })
  .strict()
  .refine((c) => c.heartbeatIntervalMs * 3 <= c.sessionTimeoutMs, {
    message: "heartbeatIntervalMs must be at most a third of sessionTimeoutMs",
    path: ["heartbeatIntervalMs"],
  })
  .refine((c) => c.rebalanceTimeoutMs >= c.sessionTimeoutMs, {
    message: "rebalanceTimeoutMs must be at least sessionTimeoutMs",
    path: ["rebalanceTimeoutMs"],
  })
  .refine(reconnectWaitsGrow, RECONNECT_WAITS_ISSUE);

export type KafkaQueueConfig = z.infer<typeof kafkaQueueConfigSchema>;
export type KafkaQueueConfigInput = z.input<typeof kafkaQueueConfigSchema>;
