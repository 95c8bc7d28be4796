/** The `limits:` section of the config (mounted by the config schema as `limits`). */
import { z } from "zod";

const positiveInt = z.number().int().positive();

/**
 * One set of limits. Absent fields mean "no limit of this kind at this scope". Limits of one set
 * apply to a scope as a whole: `global` to all traffic, `models.<name>` to all traffic to that
 * model, `perKeyDefaults` (or a principal's own limits) to each principal separately.
 */
export const limitSetSchema = z
  .object({
    /** Requests per minute (a token bucket refilling `rpm` every 60 s; bursts up to `rpm`). */
    rpm: positiveInt.max(1e9).optional(),
    /** Tokens (prompt + completion) per minute; reserved before the call, settled after. */
    tpm: positiveInt.max(3e10).optional(),
    /** Requests in flight at once. */
    maxConcurrent: positiveInt.max(1e6).optional(),
    /** Tokens (prompt + completion) allowed per `budgetPeriod`; resets at the period's start. */
    budgetTokens: positiveInt.max(1e15).optional(),
    /** Calendar period of `budgetTokens` in UTC: `day`, `week` (from Monday) or `month` (default). */
    budgetPeriod: z.enum(["day", "week", "month"]).optional(),
    /** Decide, report (`wouldBlock`, logs, metrics) but never reject: try a policy on live traffic. */
    dryRun: z.boolean().optional(),
  })
  .strict();

export const memoryStoreSchema = z
  .object({
    kind: z.literal("memory"),
    /** Most counters held at once; past it the oldest is dropped (its limit turns lax, never stricter). */
    maxKeys: positiveInt.default(100_000),
  })
  .strict();

export const redisStoreSchema = z
  .object({
    kind: z.literal("redis"),
    /** `redis://[:password@]host:port[/db]` or `rediss://…`; use `${ENV}` for a password. */
    url: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
    /** Prepended to every key; lets several gateways share one Redis without sharing limits. */
    keyPrefix: z.string().max(128).default("switchyard:rl:"),
    /** Longest wait for one Redis reply; past it the call counts as "store unavailable". */
    commandTimeoutMs: positiveInt.max(60_000).default(250),
    /** Longest wait for a TCP connection to Redis. */
    connectTimeoutMs: positiveInt.max(60_000).default(1_000),
    /**
     * Start a request's upstream call while its reservation travels to Redis, when this gateway's
     * answers from Redis of the last second showed every enforced bucket of the request with room to
     * spare. The answer still waits for the reservation; a refused one cancels the call (429).
     */
    earlyStart: z.boolean().default(true),
    /** Room to spare for an early start: what a bucket must keep after the request, as a share of its limit. */
    earlyStartMinRoom: z.number().min(0).max(1).default(0.1),
  })
  .strict();

export const limitsConfigSchema = z
  .object({
    store: z.discriminatedUnion("kind", [memoryStoreSchema, redisStoreSchema]).prefault({ kind: "memory" }),
    /** When the store cannot be reached: `open` lets requests through (logged, counted), `closed` answers 503. */
    failureMode: z.enum(["open", "closed"]).default("open"),
    /** Completion tokens reserved for a request without `max_tokens` / `max_completion_tokens`. */
    defaultMaxTokensEstimate: positiveInt.max(10_000_000).default(1_024),
    /** Lifetime of a concurrency slot: a crashed gateway's slots free themselves after it. Must exceed the longest request. */
    leaseTtlMs: positiveInt.default(900_000),
    /** Limits on all traffic together. */
    global: limitSetSchema.optional(),
    /** Limits on all traffic to one model (public model name → limits). */
    models: z.record(z.string(), limitSetSchema).default({}),
    /** Limits of each principal whose key or token does not set its own (field by field). */
    perKeyDefaults: limitSetSchema.optional(),
  })
  .strict();

export type LimitSet = z.infer<typeof limitSetSchema>;
export type LimitsConfig = z.infer<typeof limitsConfigSchema>;
export type LimitStoreConfig = LimitsConfig["store"];
