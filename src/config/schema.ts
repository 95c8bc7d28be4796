import { z } from "zod";
import { simSettingsSchema } from "../sim/settings.js";

/** Durations are whole milliseconds; the unit is in every field name. */
const ms = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

const endpointCommon = {
  /** A stable name for logs and metrics; defaults to the backend's label. */
  id: z.string().min(1).max(64).optional(),
  weight: z.number().positive().default(1),
  labels: z.record(z.string(), z.string()).default({}),
};

export const openaiEndpointSchema = z
  .object({
    kind: z.literal("openai"),
    ...endpointCommon,
    /** Base URL including the API prefix, as for the OpenAI SDKs: `http://host:8000/v1`. */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), { message: "must be an http:// or https:// URL" }),
    /** The model name the upstream knows; defaults to the public name. */
    model: z.string().min(1).optional(),
    /** Sent as `Authorization: Bearer …`; use `${ENV_VAR}` rather than a literal. */
    apiKey: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).default({}),
    maxConnections: positiveInt.default(128),
    connectTimeoutMs: ms.default(5_000),
    /** Time to the upstream's response headers (for streams: to the first byte). */
    headersTimeoutMs: ms.default(300_000),
    /** Longest silence between two body chunks. */
    bodyTimeoutMs: ms.default(300_000),
    keepAliveTimeoutMs: ms.default(60_000),
  })
  .strict();

export const simEndpointSchema = z
  .object({
    kind: z.literal("sim"),
    ...endpointCommon,
    sim: simSettingsSchema.prefault({}),
  })
  .strict();

export const endpointSchema = z.discriminatedUnion("kind", [openaiEndpointSchema, simEndpointSchema]);

export const modelSchema = z
  .object({
    /** `chat` models serve chat and completions; `embedding` models serve embeddings. */
    type: z.enum(["chat", "embedding"]).default("chat"),
    balancer: z.enum(["round_robin"]).default("round_robin"),
    endpoints: z.array(endpointSchema).min(1),
  })
  .strict();

export const serverSchema = z
  .object({
    host: z.string().min(1).default("0.0.0.0"),
    port: z.number().int().min(0).max(65535).default(8080),
    bodyLimitBytes: positiveInt.default(4 * 1024 * 1024),
    maxHeaderBytes: positiveInt.max(1024 * 1024).default(16 * 1024),
    keepAliveTimeoutMs: ms.default(72_000),
    /** How long in-flight requests and streams may run on after SIGTERM before they are cut. */
    shutdownGraceMs: ms.default(30_000),
    /** Client headers passed on to upstreams (lower case). Everything else stays at the gateway. */
    forwardHeaders: z
      .array(z.string().regex(/^[a-z0-9-]+$/, "lower-case header names"))
      .default(["x-sim-fault"]),
  })
  .strict();

export const deadlineSchema = z
  .object({
    /** Default deadline per operation; a request may ask for another with the header below. */
    chatMs: positiveInt.default(300_000),
    completionMs: positiveInt.default(300_000),
    embeddingMs: positiveInt.default(60_000),
    /** Upper bound for a deadline asked for by a request. */
    maxMs: positiveInt.default(900_000),
    header: z.string().min(1).default("x-switchyard-timeout-ms"),
  })
  .strict();

export const compressionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Bodies smaller than this are sent as they are. */
    thresholdBytes: z.number().int().nonnegative().default(1024),
  })
  .strict();

export const loggingSchema = z
  .object({
    level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** Log each request's access line (one JSON line per request). */
    accessLog: z.boolean().default(true),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.prefault({}),
    deadlines: deadlineSchema.prefault({}),
    compression: compressionSchema.prefault({}),
    logging: loggingSchema.prefault({}),
    models: z
      .record(z.string().regex(MODEL_NAME, "model names use letters, digits and . _ : / @ -"), modelSchema)
      .refine((m) => Object.keys(m).length > 0, { message: "at least one model is required" }),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type EndpointConfig = z.infer<typeof endpointSchema>;
export type OpenAIEndpointConfig = z.infer<typeof openaiEndpointSchema>;
export type SimEndpointConfig = z.infer<typeof simEndpointSchema>;
