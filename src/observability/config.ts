import { z } from "zod";

const positiveInt = z.number().int().positive();

export const metricsConfigSchema = z
  .object({
    /** Serve Prometheus metrics. */
    enabled: z.boolean().default(true),
    path: z.string().startsWith("/").default("/metrics"),
    /** A separate listener for the metrics (then they are not served on the main port); 0 = any free port. */
    port: z.number().int().min(0).max(65535).optional(),
    /** Host of the separate listener; defaults to `server.host`. */
    host: z.string().min(1).optional(),
    /** Process figures (event-loop lag, heap, GC, CPU) from prom-client's default collectors. */
    processMetrics: z.boolean().default(true),
  })
  .strict();

export const tracingConfigSchema = z
  .object({
    /** Tracing runs when this is true and `endpoint` is set; otherwise the SDK is never loaded. */
    enabled: z.boolean().default(true),
    /** OTLP/HTTP (protobuf) collector: a base URL (`/v1/traces` is appended) or the full traces URL. */
    endpoint: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), { message: "must be an http:// or https:// URL" })
      .optional(),
    /** Share of new traces recorded; a client's sampled flag is followed (parent-based). */
    sampleRatio: z.number().min(0).max(1).default(1),
    serviceName: z.string().min(1).default("switchyard"),
    /** Headers sent with every export (for example an API key of the tracing backend: use `${ENV}`). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Batching: spans are exported from a bounded queue, off the request path. */
    maxQueueSize: positiveInt.default(4096),
    maxExportBatchSize: positiveInt.default(512),
    scheduledDelayMs: positiveInt.default(1_000),
    exportTimeoutMs: positiveInt.default(10_000),
  })
  .strict()
  .refine((t) => t.maxExportBatchSize <= t.maxQueueSize, {
    message: "maxExportBatchSize must not exceed maxQueueSize",
    path: ["maxExportBatchSize"],
  });

export const observabilityConfigSchema = z
  .object({
    metrics: metricsConfigSchema.prefault({}),
    tracing: tracingConfigSchema.prefault({}),
  })
  .strict();

export type ObservabilityConfig = z.infer<typeof observabilityConfigSchema>;
export type MetricsConfig = z.infer<typeof metricsConfigSchema>;
export type TracingConfig = z.infer<typeof tracingConfigSchema>;
