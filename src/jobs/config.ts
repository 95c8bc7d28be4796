import { z } from "zod";
import { queueConfigSchema } from "./queue/config.js";

const ms = z.number().int().nonnegative();
const positiveMs = z.number().int().positive();

export const webhookConfigSchema = z
  .object({
    /** Signing secret, Standard Webhooks form `whsec_<base64>`; without it webhooks are refused at submit. */
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, "must look like whsec_<base64 of at least 12 bytes>")
      .optional(),
    /** Hosts a webhook URL may name (exact, or `*.example.com` for subdomains); empty = any public host. */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /** Allow private, loopback and link-local addresses (off: SSRF protection). */
    allowPrivate: z.boolean().default(false),
    /** One delivery's time limit. */
    timeoutMs: positiveMs.default(10_000),
    /** Deliveries in total, the first included. */
    maxAttempts: z.number().int().min(1).max(20).default(5),
    backoffBaseMs: ms.default(1_000),
    backoffMaxMs: ms.default(60_000),
  })
  .strict();

/** `jobs:` in the config: async jobs on the store's database and the queue. */
export const jobsConfigSchema = z
  .object({
    /** Accept `/v1/jobs` and run workers. */
    enabled: z.boolean().default(true),
    /** Jobs run at once by the workers inside `switchyard serve`; 0 = none (use `switchyard worker`). */
    workers: z.number().int().min(0).max(1024).default(4),
    /** Lease (visibility timeout) of a running job; extended every third of it while the job runs. */
    leaseMs: positiveMs.min(500).default(30_000),
    /** How often an idle worker looks for jobs published by another process. */
    pollIntervalMs: positiveMs.default(200),
    /** How often a worker checks the store for cancels made by another process. */
    cancelPollMs: positiveMs.default(500),
    /** Attempts per job when the submission does not say (`max_attempts`). */
    maxAttempts: z.number().int().min(1).max(100).default(3),
    /** Wait between attempts: full jitter over min(maxMs, baseMs × 2^(attempt-1)). */
    backoff: z
      .object({ baseMs: ms.default(1_000), maxMs: ms.default(60_000) })
      .strict()
      .prefault({}),
    /** Deadline of a job when the submission gives none (from submission). */
    defaultDeadlineMs: positiveMs.default(86_400_000),
    /** Finished jobs are deleted this long after they finished. */
    retentionMs: positiveMs.default(7 * 86_400_000),
    /** How often finished jobs and expired idempotency keys are purged. */
    purgeIntervalMs: positiveMs.default(60_000),
    /** How long an `Idempotency-Key` is remembered (jobs and sync calls). */
    idempotencyTtlMs: positiveMs.default(86_400_000),
    /** How long graceful stop lets running jobs finish before they are handed back to the queue. */
    stopGraceMs: ms.default(10_000),
    webhooks: webhookConfigSchema.prefault({}),
    /** Where job messages wait for a worker: the store's SQLite file by default. */
    queue: queueConfigSchema,
  })
  .strict();

export type JobsConfig = z.infer<typeof jobsConfigSchema>;
export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
