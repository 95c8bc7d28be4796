import { z } from "zod";
import { authConfigSchema } from "../auth/authenticate.js";
import { batchingSchema } from "../batching/config.js";
import { grpcConfigSchema } from "../grpc/config.js";
import { jobsConfigSchema } from "../jobs/config.js";
import { limitsConfigSchema } from "../limits/config.js";
import { observabilityConfigSchema } from "../observability/config.js";
import { checkPipelines } from "../pipeline/compile.js";
import { pipelinesSchema } from "../pipeline/spec.js";
import { balancerSchema } from "../routing/balancers/config.js";
import { discoverySchema } from "../routing/discovery/config.js";
import { simSettingsSchema } from "../sim/settings.js";
import { storeConfigSchema } from "../store/config.js";

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

/** `host:port` of a gRPC server (a DNS name, an IPv4 address or a bracketed IPv6 address). */
const grpcTarget = z
  .string()
  .regex(/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, "must be host:port, e.g. triton:8001");

/** Connection settings of a gRPC upstream: a few long-lived HTTP/2 channels kept alive by pings. */
const grpcChannel = {
  /** TLS with the system's root certificates; plaintext HTTP/2 (h2c) when false. */
  tls: z.boolean().default(false),
  /** HTTP/2 connections opened to the upstream; calls are spread over them. */
  channels: positiveInt.max(64).default(1),
  connectTimeoutMs: ms.default(5_000),
  /** Interval of HTTP/2 keepalive pings (also while idle). */
  keepAliveTimeMs: positiveInt.default(60_000),
  /** A ping unanswered for this long closes the connection (calls then fail as unavailable). */
  keepAliveTimeoutMs: positiveInt.default(10_000),
  /** Largest message sent or received. */
  maxMessageBytes: positiveInt.default(64 * 1024 * 1024),
};

/** A KServe v2 / Open Inference Protocol server (Triton, KServe, MLServer, OpenVINO) for tensor models. */
export const kserveEndpointSchema = z
  .object({
    kind: z.literal("kserve-v2"),
    ...endpointCommon,
    protocol: z.enum(["http", "grpc"]).default("http"),
    /** HTTP base URL (protocol http): `http://triton:8000`; the `/v2/...` paths are appended. */
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), { message: "must be an http:// or https:// URL" })
      .optional(),
    /** gRPC `host:port` (protocol grpc): `triton:8001`. */
    target: grpcTarget.optional(),
    /** The model name the upstream knows; defaults to the public name. */
    model: z.string().min(1).max(256).optional(),
    /** The model version to ask for; the server chooses when absent. */
    modelVersion: z.string().min(1).max(64).optional(),
    /** Sent with every call (HTTP headers or gRPC metadata); use `${ENV_VAR}` for secrets. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Longest a single upstream call may take (the request's deadline may end it sooner). */
    timeoutMs: positiveInt.default(60_000),
    /** gRPC: how input tensors are sent, `raw` (raw_input_contents, as Triton prefers) or `typed`. */
    tensorEncoding: z.enum(["raw", "typed"]).default("raw"),
    /** Health checks ask whether the `model` is ready, or only whether the `server` is. */
    readiness: z.enum(["model", "server"]).default("model"),
    /** HTTP: connections kept to the upstream. */
    maxConnections: positiveInt.default(64),
    ...grpcChannel,
  })
  .strict()
  .superRefine((ep, ctx) => {
    if (ep.protocol === "http" && !ep.url)
      ctx.addIssue({ code: "custom", path: ["url"], message: "protocol http needs url" });
    if (ep.protocol === "grpc" && !ep.target)
      ctx.addIssue({ code: "custom", path: ["target"], message: "protocol grpc needs target (host:port)" });
  });

/** Another Switchyard, or any service implementing `switchyard.v1.Inference` (proto/switchyard/v1). */
export const switchyardGrpcEndpointSchema = z
  .object({
    kind: z.literal("switchyard-grpc"),
    ...endpointCommon,
    /** gRPC `host:port`. */
    target: grpcTarget,
    /** The model name the upstream knows; defaults to the public name. */
    model: z.string().min(1).max(256).optional(),
    /** Sent as `authorization: Bearer …` metadata; use `${ENV_VAR}` rather than a literal. */
    apiKey: z.string().min(1).optional(),
    /** Sent as metadata with every call. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Longest a single upstream call may take (a stream: until its last message). */
    timeoutMs: positiveInt.default(300_000),
    /** The `grpc.health.v1` service name health checks ask about ("" = the whole server). */
    healthService: z.string().max(256).default(""),
    ...grpcChannel,
  })
  .strict();

export const endpointSchema = z.discriminatedUnion("kind", [
  openaiEndpointSchema,
  simEndpointSchema,
  kserveEndpointSchema,
  switchyardGrpcEndpointSchema,
]);

/** Error classes a retry or a fallback may react to. */
export const ERROR_CLASSES = [
  "unavailable",
  "timeout",
  "server_error",
  "rate_limited",
  "bad_response",
  "context_length",
] as const;

export const retrySchema = z
  .object({
    /** Total attempts per request on this model, the first included (1 = no retries). */
    maxAttempts: z.number().int().min(1).max(10).default(3),
    backoffBaseMs: ms.default(25),
    backoffMaxMs: ms.default(2_000),
    /** Error classes that are retried (never 4xx other than 429, never after a stream's first byte). */
    on: z
      .array(z.enum(ERROR_CLASSES))
      .default(["unavailable", "timeout", "server_error", "rate_limited", "bad_response"]),
    /** Retries may be at most this share of recent requests (plus `budgetMinPerSecond`). */
    budgetRatio: z.number().min(0).max(10).default(0.2),
    budgetMinPerSecond: z.number().min(0).default(5),
    budgetWindowMs: positiveInt.default(10_000),
  })
  .strict();

export const breakerSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Consecutive failures that open the circuit of an endpoint. */
    failureThreshold: positiveInt.default(5),
    /** How long an open circuit stays open before half-open probes. */
    openMs: positiveInt.default(10_000),
    /** Requests let through while half-open; all must succeed to close. */
    halfOpenProbes: positiveInt.default(1),
  })
  .strict();

export const outlierSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Consecutive 5xx or connection failures that eject an endpoint. */
    consecutiveFailures: positiveInt.default(5),
    /** Failure share over the window that ejects an endpoint (with at least `minRequests`). */
    failureRateThreshold: z.number().min(0).max(1).default(0.5),
    minRequests: positiveInt.default(20),
    windowMs: positiveInt.default(10_000),
    /** First ejection time; it grows with each repeated ejection, up to `maxEjectionMs`. */
    baseEjectionMs: positiveInt.default(5_000),
    maxEjectionMs: positiveInt.default(300_000),
    /** Most of a pool that may be ejected at once. */
    maxEjectionPercent: z.number().min(0).max(100).default(50),
  })
  .strict();

export const healthCheckSchema = z
  .object({
    enabled: z.boolean().default(true),
    intervalMs: positiveInt.default(5_000),
    timeoutMs: positiveInt.default(2_000),
    /** Path under the endpoint's base URL; a GET that spends no tokens. */
    path: z.string().startsWith("/").default("/models"),
    healthyThreshold: positiveInt.default(1),
    unhealthyThreshold: positiveInt.default(2),
  })
  .strict();

export const hedgeSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Fixed delay before the second copy; when absent, the pool's observed p95 latency to first byte. */
    delayMs: ms.optional(),
    /** Floor for the observed-p95 delay. */
    minDelayMs: ms.default(10),
    /** Hedges may be at most this share of recent requests (plus `budgetMinPerSecond`). */
    maxExtraRatio: z.number().min(0).max(1).default(0.1),
    budgetMinPerSecond: z.number().min(0).default(1),
  })
  .strict();

export const admissionSchema = z
  .object({
    /** Requests in flight on this model at once; 0 = no cap. */
    maxInFlight: z.number().int().nonnegative().default(0),
    /** Requests that may wait for a slot; beyond it they are shed. */
    maxQueue: z.number().int().nonnegative().default(256),
    queueTimeoutMs: positiveInt.default(5_000),
  })
  .strict();

/** One version of a model for canary splits: its own endpoints (the model's policies apply), or another model. */
export const versionSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits and . _ -"),
    /** Share of the model's traffic, relative to the other versions' weights (0 = none). */
    weight: z.number().min(0).default(1),
    endpoints: z.array(endpointSchema).min(1).optional(),
    /** Another model that serves this version (its own endpoints and policies). */
    model: z.string().optional(),
  })
  .strict()
  .refine((v) => (v.endpoints === undefined) !== (v.model === undefined), {
    message: "a version has either endpoints or model",
  });

/** Mirrors a share of a model's requests to another model; the copies' answers are measured, then discarded. */
export const shadowSchema = z
  .object({
    model: z.string(),
    /** Share of requests mirrored, 0–1. */
    ratio: z.number().min(0).max(1).default(1),
    /** Deadline of each mirrored request. */
    timeoutMs: positiveInt.default(30_000),
    /** Mirrored requests in flight at once; beyond it copies are dropped (and counted). */
    maxConcurrent: positiveInt.default(16),
  })
  .strict();

export const modelSchema = z
  .object({
    /**
     * `chat` models serve chat and completions; `embedding` models serve embeddings; `kserve` models
     * serve tensor inference (`POST /v2/models/{name}/infer`) from `kserve-v2` endpoints.
     */
    type: z.enum(["chat", "embedding", "kserve"]).default("chat"),
    balancer: balancerSchema.prefault("round_robin"),
    /** Static endpoints; may be empty when `discovery` or `versions` provides them. */
    endpoints: z.array(endpointSchema).default([]),
    discovery: discoverySchema(openaiEndpointSchema.omit({ kind: true, url: true }).prefault({})).optional(),
    /** Canary: the model's traffic split by weight across versions (instead of `endpoints`). */
    versions: z.array(versionSchema).min(1).optional(),
    shadow: shadowSchema.optional(),
    retry: retrySchema.prefault({}),
    breaker: breakerSchema.prefault({}),
    outlier: outlierSchema.prefault({}),
    healthCheck: healthCheckSchema.prefault({}),
    hedge: hedgeSchema.prefault({}),
    admission: admissionSchema.prefault({}),
    /** Other models to try, in order, when this one fails with an error of `fallbackOn`. */
    fallbacks: z.array(z.string()).default([]),
    fallbackOn: z
      .array(z.enum(ERROR_CLASSES))
      .default(["unavailable", "timeout", "server_error", "rate_limited"]),
    /** Dynamic batching of concurrent requests into one upstream call (docs/batching.md); off when absent. */
    batching: batchingSchema.optional(),
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
    /** Tensor inference (`POST /v2/models/{name}/infer`). */
    inferMs: positiveInt.default(60_000),
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
    /** Opt-in: let prompt and message text reach log lines (credentials stay redacted). */
    logPrompts: z.boolean().default(false),
  })
  .strict();

export const configSchema = z
  .object({
    server: serverSchema.prefault({}),
    grpc: grpcConfigSchema.prefault({}),
    deadlines: deadlineSchema.prefault({}),
    compression: compressionSchema.prefault({}),
    logging: loggingSchema.prefault({}),
    auth: authConfigSchema.prefault({}),
    limits: limitsConfigSchema.prefault({}),
    store: storeConfigSchema.prefault({}),
    jobs: jobsConfigSchema.prefault({}),
    observability: observabilityConfigSchema.prefault({}),
    models: z
      .record(z.string().regex(MODEL_NAME, "model names use letters, digits and . _ : / @ -"), modelSchema)
      .refine((m) => Object.keys(m).length > 0, { message: "at least one model is required" }),
    /** Multi-model pipelines (a DAG of model calls), run at `POST /v1/pipelines/{name}`. */
    pipelines: pipelinesSchema,
  })
  .strict()
  .superRefine((cfg, ctx) => {
    checkRouting(cfg, ctx);
    checkPipelines(cfg, (path, message) => ctx.addIssue({ code: "custom", path, message }));
    checkEndpointKinds(cfg.models, ctx);
    if (cfg.jobs.queue.kind === "sqlite" && (cfg.store.kind as string) !== "sqlite") {
      ctx.addIssue({
        code: "custom",
        path: ["jobs", "queue", "kind"],
        message:
          "the sqlite queue lives in the store's SQLite file: set store.kind to sqlite, or pick a networked queue",
      });
    }
    for (const [name, model] of Object.entries(cfg.models)) {
      if (model.batching && model.type === "chat") {
        ctx.addIssue({
          code: "custom",
          path: ["models", name, "batching"],
          message: "batching is for embedding and kserve models (chat engines batch continuously themselves)",
        });
      }
      model.fallbacks.forEach((fb, i) => {
        const target = cfg.models[fb];
        if (!target || fb === name) {
          ctx.addIssue({
            code: "custom",
            path: ["models", name, "fallbacks", i],
            message: fb === name ? "a model cannot fall back to itself" : `unknown model '${fb}'`,
          });
        } else if (target.type !== model.type) {
          ctx.addIssue({
            code: "custom",
            path: ["models", name, "fallbacks", i],
            message: `'${fb}' is a ${target.type} model, '${name}' a ${model.type} model`,
          });
        }
      });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type ShadowConfig = z.infer<typeof shadowSchema>;
export type VersionConfig = z.infer<typeof versionSchema>;
/** Versions, shadows, endpoint sources and affinity headers that refer to each other or to server settings. */
function checkRouting(
  cfg: { server: { forwardHeaders: string[] }; models: Record<string, ModelConfig> },
  ctx: z.RefinementCtx,
): void {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
  for (const [name, model] of Object.entries(cfg.models)) {
    const at = ["models", name];
    const refOk = (ref: string, path: PropertyKey[]): void => {
      const target = cfg.models[ref];
      if (!target || ref === name)
        issue(path, ref === name ? "a model cannot refer to itself" : `unknown model '${ref}'`);
      else if (target.type !== model.type)
        issue(path, `'${ref}' is a ${target.type} model, '${name}' a ${model.type} model`);
      else if (target.versions) issue(path, `'${ref}' has versions itself`);
    };
    if (model.versions) {
      if (model.endpoints.length > 0 || model.discovery)
        issue(at, "a model has either versions or endpoints/discovery");
      if (!model.versions.some((v) => v.weight > 0))
        issue([...at, "versions"], "at least one version needs a weight above 0");
      const names = new Set<string>();
      model.versions.forEach((v, i) => {
        if (names.has(v.name)) issue([...at, "versions", i, "name"], `duplicate version '${v.name}'`);
        names.add(v.name);
        if (v.model !== undefined) refOk(v.model, [...at, "versions", i, "model"]);
      });
    } else if (model.endpoints.length === 0 && !model.discovery) {
      issue([...at, "endpoints"], "a model needs endpoints, discovery or versions");
    }
    if (model.shadow) refOk(model.shadow.model, [...at, "shadow", "model"]);
    const b = model.balancer;
    if (
      b.kind === "affinity" &&
      b.key.source === "header" &&
      !cfg.server.forwardHeaders.includes(b.key.name)
    ) {
      issue(
        [...at, "balancer", "key", "name"],
        `add '${b.key.name}' to server.forwardHeaders so the router sees it`,
      );
    }
  }
}

/** Tensor models take `kserve-v2` endpoints only, and `kserve-v2` endpoints serve tensor models only. */
function checkEndpointKinds(models: Record<string, ModelConfig>, ctx: z.RefinementCtx): void {
  for (const [name, model] of Object.entries(models)) {
    const tensor = model.type === "kserve";
    const check = (eps: readonly EndpointConfig[], path: PropertyKey[]) =>
      eps.forEach((ep, i) => {
        if (tensor !== (ep.kind === "kserve-v2"))
          ctx.addIssue({
            code: "custom",
            path: [...path, i, "kind"],
            message: tensor
              ? `a kserve model needs kserve-v2 endpoints, not ${ep.kind}`
              : `a kserve-v2 endpoint serves kserve models only (this model is ${model.type})`,
          });
      });
    check(model.endpoints, ["models", name, "endpoints"]);
    model.versions?.forEach((v, i) => {
      check(v.endpoints ?? [], ["models", name, "versions", i, "endpoints"]);
    });
    if (tensor && model.discovery)
      ctx.addIssue({
        code: "custom",
        path: ["models", name, "discovery"],
        message: "discovery finds openai endpoints; a kserve model lists its endpoints",
      });
  }
}

export type ErrorClass = (typeof ERROR_CLASSES)[number];
export type EndpointConfig = z.infer<typeof endpointSchema>;
export type OpenAIEndpointConfig = z.infer<typeof openaiEndpointSchema>;
export type SimEndpointConfig = z.infer<typeof simEndpointSchema>;
export type KServeEndpointConfig = z.infer<typeof kserveEndpointSchema>;
export type SwitchyardGrpcEndpointConfig = z.infer<typeof switchyardGrpcEndpointSchema>;
