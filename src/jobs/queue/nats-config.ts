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

/** A stream or consumer name: no dots, wildcards, spaces or path separators. */
const natsName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -");

const natsServer = z
  .string()
  .regex(
    /^((nats|tls):\/\/)?[A-Za-z0-9.\-[\]:]+(:\d{1,5})?$/,
    "must be nats://host:port, tls://host:port or host:port (credentials go in user/password/token)",
  );

const natsTlsSchema = z
  .object({
    ...tlsFilesShape,
    /** Start TLS before the NATS INFO exchange (servers with `handshake_first`). */
    handshakeFirst: z.boolean().default(false),
  })
  .strict()
  .refine(tlsFilesPaired, TLS_FILES_ISSUE);

/**
 * The distributed queue on NATS JetStream (see docs/queue-nats.md): a work-queue stream with file
 * storage, one durable pull consumer per priority class, and a dead-letter stream beside it.
 */
export const natsQueueConfigSchema = z
  .object({
    kind: z.literal("nats"),
    /** Seed servers of the NATS cluster; the client learns the others and fails over. */
    servers: z.array(natsServer).min(1).max(32).default(["nats://127.0.0.1:4222"]),
    /** Connection name shown by the server's monitoring. */
    name: z.string().min(1).max(128).default("switchyard"),
    /** User and password (write the password as `${ENV}`), or a token; or neither. */
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    tls: natsTlsSchema.optional(),
    /** The work stream; the dead-letter stream is `<stream>_DEAD`. */
    stream: natsName.default("SWITCHYARD_JOBS"),
    /** Subjects are `<prefix>.q.<class>`, `<prefix>.s.<hash>` (scheduled), `<prefix>.dead`, `<prefix>.wake`. */
    subjectPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "must be dot-separated tokens of A-Z a-z 0-9 _ -")
      .max(128)
      .default("switchyard.jobs"),
    /** Durable consumer names are `<consumer>-p<class>`. */
    consumer: natsName.default("switchyard-workers"),
    /** Copies of each stream in a NATS cluster (1, or 3 / 5 for a cluster that survives node loss). */
    replicas: z.number().int().min(1).max(5).default(1),
    /**
     * See `priorityClassesSchema`: the bounds of the classes, highest first. Classes are served in
     * order: a lower class is taken only when every higher one is empty.
     */
    priorityClasses: priorityClassesSchema,
    /** Publishes with one message id within this window are stored once (the server's `duplicate_window`). */
    duplicateWindowMs: ms(100, 7 * 86_400_000, 120_000),
    /**
     * The server-side lease (consumer `ack_wait`): how soon a message held by a crashed or cut-off
     * process is delivered again. Leases longer than this are kept alive by the holder.
     */
    ackWaitMs: ms(1_000, 3_600_000, 30_000),
    /** Deliveries after which a message is moved to the dead letters instead (0 = no limit). */
    maxDeliver: z.number().int().min(0).max(100_000).default(200),
    /** Messages out under a lease at once per priority class, across all workers (`max_ack_pending`). */
    maxAckPending: z.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * How a message with a future `notBefore` waits: `schedule` stores it as a server-side message
     * schedule (nats-server 2.12 or later), `redeliver` stores it at once and postpones each early
     * delivery by a delayed nak; `auto` picks `schedule` when the server supports it.
     */
    delayedDelivery: z.enum(["auto", "schedule", "redeliver"]).default("auto"),
    /** Dead letters older than this are dropped (0 = kept until `deadLetterMaxMessages` pushes them out). */
    deadLetterMaxAgeMs: ms(0, 3_650 * 86_400_000, 30 * 86_400_000),
    /** At most this many dead letters are kept; the oldest go first. */
    deadLetterMaxMessages: z.number().int().min(1).max(100_000_000).default(100_000),
    /** A publish not confirmed by the server within this time fails with `queue_unavailable`. */
    publishTimeoutMs: ms(100, 60_000, 5_000),
    /** Time limit of every other request to the server (acks, pulls, stream info). */
    requestTimeoutMs: ms(100, 60_000, 5_000),
    /** Time limit of the first connection at startup. */
    connectTimeoutMs: ms(100, 120_000, 5_000),
    /** Reconnects never stop; the wait between tries grows from this ... */
    reconnectWaitMs: ms(10, 60_000, 250),
    /** ... up to this (plus jitter) while an outage lasts. */
    reconnectMaxWaitMs: ms(100, 600_000, 5_000),
  })
  .strict()
  .refine((c) => (c.user === undefined) === (c.password === undefined), {
    message: "user and password go together",
    path: ["password"],
  })
  .refine((c) => c.token === undefined || c.user === undefined, {
    message: "give either user/password or token, not both",
    path: ["token"],
  })
  .refine(reconnectWaitsGrow, RECONNECT_WAITS_ISSUE);

export type NatsQueueConfig = z.infer<typeof natsQueueConfigSchema>;
export type NatsQueueConfigInput = z.input<typeof natsQueueConfigSchema>;
