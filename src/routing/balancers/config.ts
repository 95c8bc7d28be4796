import { z } from "zod";

const positiveInt = z.number().int().positive();

/** Where the affinity key of a request comes from. */
export const affinityKeySchema = z.discriminatedUnion("source", [
  /** A request header (it must also be listed in `server.forwardHeaders`, which carries it to the router). */
  z
    .object({
      source: z.literal("header"),
      name: z.string().regex(/^[a-z0-9-]+$/, "a lower-case header name"),
    })
    .strict(),
  /** The OpenAI `user` field of the body. */
  z.object({ source: z.literal("user") }).strict(),
  /** The first `chars` characters of the prompt (chat messages' text in order, or the completion prompt). */
  z.object({ source: z.literal("prefix"), chars: positiveInt.max(1_000_000).default(512) }).strict(),
]);

const roundRobin = z.object({ kind: z.literal("round_robin") }).strict();
const weighted = z.object({ kind: z.literal("weighted") }).strict();
const leastOutstanding = z
  .object({
    kind: z.literal("least_outstanding"),
    /** Endpoints sampled per pick (2 = power of two choices); at least the pool size = the least loaded of all. */
    choices: z.number().int().min(2).max(64).default(2),
  })
  .strict();
const p2cEwma = z
  .object({
    kind: z.literal("p2c_ewma"),
    /** Time constant of the latency average: a sample's weight falls to 1/e after this long. */
    decayMs: positiveInt.default(10_000),
  })
  .strict();
const affinity = z
  .object({
    kind: z.literal("affinity"),
    key: affinityKeySchema.prefault({ source: "prefix" }),
    /** Bounded load: an endpoint takes no more while its load exceeds ceil((1 + epsilon) × mean load). */
    epsilon: z.number().positive().max(10).default(0.25),
    /** Points per endpoint on the hash ring (times its weight, rounded). */
    virtualNodes: positiveInt.max(1000).default(100),
  })
  .strict();

export const BALANCER_KINDS = [
  "round_robin",
  "weighted",
  "least_outstanding",
  "p2c_ewma",
  "affinity",
] as const;

const balancerObject = z.discriminatedUnion("kind", [
  roundRobin,
  weighted,
  leastOutstanding,
  p2cEwma,
  affinity,
]);

/** `balancer: p2c_ewma` (defaults) or `balancer: { kind: affinity, key: { source: header, name: x-session-id } }`. */
export const balancerSchema = z
  .union([z.enum(BALANCER_KINDS), balancerObject])
  .transform((v) => (typeof v === "string" ? balancerObject.parse({ kind: v }) : v));

export type BalancerConfig = z.infer<typeof balancerObject>;
export type AffinityKeyConfig = z.infer<typeof affinityKeySchema>;
