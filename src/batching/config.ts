import { z } from "zod";

/** Most inputs one batch may hold (the gateway's own limit on inputs per embeddings request). */
export const MAX_BATCH_ITEMS = 4096;

/**
 * Dynamic batching of one model (opt-in: absent means off). The knobs follow Triton's dynamic
 * batcher: `maxBatchSize` ↔ `max_batch_size`, `maxQueueDelayUs` ↔ `max_queue_delay_microseconds`,
 * `preferredBatchSizes` ↔ `preferred_batch_size`.
 */
export const batchingSchema = z
  .object({
    /** Most inputs (items along the batch dimension) sent upstream in one call. */
    maxBatchSize: z.number().int().min(1).max(MAX_BATCH_ITEMS).default(32),
    /** Longest a request waits for others to join its batch, in microseconds (0 = only those already there). */
    maxQueueDelayUs: z.number().int().min(0).max(10_000_000).default(2_000),
    /** Batch sizes sent as soon as the queue can form one, without waiting for the delay. */
    preferredBatchSizes: z.array(z.number().int().min(1).max(MAX_BATCH_ITEMS)).max(32).default([]),
    /** A request is never held in the queue past its deadline minus this margin (time for the call itself). */
    deadlineSlackMs: z.number().int().nonnegative().default(100),
  })
  .strict()
  .superRefine((b, ctx) => {
    b.preferredBatchSizes.forEach((size, i) => {
      if (size > b.maxBatchSize) {
        ctx.addIssue({
          code: "custom",
          path: ["preferredBatchSizes", i],
          message: `${size} is above maxBatchSize (${b.maxBatchSize})`,
        });
      }
    });
  });

export type BatchingConfig = z.infer<typeof batchingSchema>;
