/**
 * The one narrow module the rest of the gateway calls for metrics and traces. Front doors call
 * `requestStart`/`requestEnd`; the router reports through `router` (a `RouterObserver`), the policy
 * gate through `gate`. Jobs and pipelines carry a trace with `currentTraceparent` and
 * `startContextSpan`/`endContextSpan`. Spans are recorded (`tracing.ts`) and exported over OTLP
 * (`otlp.ts`) only when an endpoint is configured.
 */
import { createServer, type Server } from "node:http";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/schema.js";
import type { RequestContext } from "../core/context.js";
import type { PipelineObserver } from "../pipeline/observer.js";
import type { GateObserver } from "../policy/gate.js";
import type { AttemptEnd, GapRecorder, RouterObserver } from "../routing/observer.js";
import { NO_GAPS, NOOP_OBSERVER } from "../routing/observer.js";
import type { Pool } from "../routing/pool.js";
import type { ObservabilityConfig } from "./config.js";
import type { Logger } from "./logger.js";
import { GatewayMetrics } from "./metrics.js";
import { buildPipelineObserver, PipelineMetrics } from "./pipeline-metrics.js";
import {
  type ContextSpanKind,
  type EndpointAddress,
  type SpanAttributes,
  Spans,
  traceparentOf,
} from "./spans.js";
import { startTracing } from "./tracing.js";

export type { ObservabilityConfig } from "./config.js";
export { observabilityConfigSchema } from "./config.js";
export { GatewayMetrics } from "./metrics.js";

const VERSION = "0.1.0";
const UNMATCHED = "unmatched";

export interface Observability {
  /** The metrics, or undefined when `observability.metrics.enabled` is false. */
  readonly metrics: GatewayMetrics | undefined;
  /** True when spans are recorded and exported. */
  readonly tracing: boolean;
  /** What the router reports to. */
  readonly router: RouterObserver;
  /** What the policy gate reports to. */
  readonly gate: GateObserver;
  /** What the pipeline executor reports to (run and step spans and metrics). */
  readonly pipelines: PipelineObserver;
  /** Points pool gauges at the router's pools (call again after a reload swaps the router). */
  attach(pools: () => Iterable<Pool>): void;
  /** A request arrived (HTTP onRequest). */
  requestStart(ctx: RequestContext, method: string, url: string): void;
  /** The request's answer ended, however it ended (HTTP `close`). */
  requestEnd(ctx: RequestContext, route: string | undefined, status: number): void;
  /** Registers `GET /metrics` on the main server, unless metrics have a port of their own. */
  registerRoutes(app: FastifyInstance): void;
  /** Starts the separate metrics listener when one is configured; resolves with its port. */
  listen(host: string): Promise<number | undefined>;
  /** The separate metrics listener's port, once it listens. */
  readonly metricsPort: number | undefined;
  /**
   * The `traceparent` to store with work that continues elsewhere (a job message): the context's
   * own span. A worker makes `new RequestContext({ traceparent })` from it and calls
   * `startContextSpan`, so its span joins the submitting request's trace.
   */
  currentTraceparent(ctx: RequestContext): string;
  /** Starts the span of a job run or pipeline step for `ctx` (no-op without tracing). */
  startContextSpan(
    ctx: RequestContext,
    name: string,
    kind: ContextSpanKind,
    attributes?: SpanAttributes,
  ): void;
  endContextSpan(ctx: RequestContext, errorCode?: string): void;
  /** Exports what is buffered and stops. */
  close(): Promise<void>;
}

/** Static endpoint ids → the host they call, for `server.address` on attempt spans. */
function endpointAddresses(config: Config): Map<string, EndpointAddress> {
  const out = new Map<string, EndpointAddress>();
  for (const model of Object.values(config.models)) {
    const lists = [model.endpoints, ...(model.versions ?? []).map((v) => v.endpoints ?? [])];
    for (const ep of lists.flat()) {
      if (ep.kind !== "openai") continue;
      const url = new URL(ep.url);
      const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
      out.set(ep.id ?? `openai:${url.host}`, { address: url.hostname, port });
    }
  }
  return out;
}

/** Builds the observability of one gateway from its config. Spans are recorded only when tracing is configured. */
export async function createObservability(config: Config, logger: Logger): Promise<Observability> {
  const cfg: ObservabilityConfig = config.observability;
  const metrics = cfg.metrics.enabled
    ? new GatewayMetrics({ processMetrics: cfg.metrics.processMetrics })
    : undefined;
  const t = cfg.tracing;
  let spans: Spans | undefined;
  let shutdownTracing = async () => {};
  if (t.enabled && t.endpoint) {
    const engine = startTracing({ ...t, endpoint: t.endpoint }, VERSION, {
      onSpans: metrics ? (outcome, n) => metrics.traceSpans(outcome, n) : undefined,
      onFailure: (reason, n, dropped) =>
        logger.warn({ reason, spans: n, dropped_spans: dropped }, "exporting spans failed"),
    });
    spans = new Spans(engine, endpointAddresses(config));
    shutdownTracing = async () => {
      await engine
        .shutdown()
        .catch((err: unknown) => logger.warn({ err }, "exporting the last spans failed"));
    };
  }
  let server: Server | undefined;
  let metricsPort: number | undefined;
  const routerObserver = buildRouterObserver(metrics, spans);
  const pipelineMetrics = metrics ? new PipelineMetrics(metrics.registry) : undefined;
  return {
    metrics,
    tracing: spans !== undefined,
    get metricsPort() {
      return metricsPort;
    },
    router: routerObserver,
    gate: {
      limit: (outcome) => metrics?.limit(outcome),
      authenticated: spans
        ? (ctx, kind) => spans.event(ctx, "switchyard.authenticated", { "switchyard.principal.kind": kind })
        : undefined,
    },
    pipelines: buildPipelineObserver(pipelineMetrics, spans),
    attach: (pools) => metrics?.attach(pools),
    requestStart(ctx, method, url) {
      if (spans) spans.startRequest(ctx, method, url);
    },
    requestEnd(ctx, route, status) {
      if (metrics) {
        const model = ctx.model ?? "";
        metrics.request(
          model,
          route ?? UNMATCHED,
          status,
          ctx.errorCode ?? "",
          (performance.now() - ctx.startedAt) / 1000,
        );
        if (ctx.usage) metrics.tokens(model, ctx.usage.prompt_tokens, ctx.usage.completion_tokens);
        if (ctx.ttftMs !== undefined) metrics.ttft.labels(model).observe(ctx.ttftMs / 1000);
      }
      spans?.endRequest(ctx, route, status);
    },
    registerRoutes(app) {
      if (!metrics || cfg.metrics.port !== undefined) return;
      app.get(cfg.metrics.path, async (_request, reply) => {
        const { contentType, body } = await metrics.exposition();
        return reply.type(contentType).send(body);
      });
    },
    async listen(host) {
      if (!metrics || cfg.metrics.port === undefined) return undefined;
      server = metricsServer(metrics, cfg.metrics.path, logger);
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(cfg.metrics.port, cfg.metrics.host ?? host, () => resolve());
      });
      const addr = s.address();
      metricsPort = typeof addr === "object" && addr ? addr.port : cfg.metrics.port;
      return metricsPort;
    },
    currentTraceparent(ctx) {
      const span = spans?.span(ctx);
      return span ? traceparentOf(span) : ctx.traceparent;
    },
    startContextSpan(ctx, name, kind, attributes = {}) {
      spans?.startContextSpan(ctx, name, kind, attributes);
    },
    endContextSpan(ctx, errorCode) {
      spans?.endContextSpan(ctx, errorCode);
    },
    async close() {
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => s.close(() => resolve()));
        server = undefined;
      }
      await shutdownTracing();
    },
  };
}

/** The separate metrics listener: a bare `node:http` server answering the metrics path only. */
function metricsServer(metrics: GatewayMetrics, path: string, logger: Logger): Server {
  return createServer((req, res) => {
    if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== path) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => res.writeHead(200, { "content-type": contentType }).end(body),
      (err: unknown) => {
        logger.error({ err }, "collecting metrics failed");
        res.writeHead(500).end();
      },
    );
  });
}

/** The `RouterObserver` that feeds metrics and spans (the no-op one when both are off). */
function buildRouterObserver(metrics: GatewayMetrics | undefined, spans: Spans | undefined): RouterObserver {
  if (!metrics && !spans) return NOOP_OBSERVER;
  const gaps: (pool: string) => GapRecorder = metrics ? (pool) => metrics.interToken(pool) : () => NO_GAPS;
  return {
    attemptStart(ctx, pool, endpoint, attempt, hedge): AttemptEnd {
      const t0 = performance.now();
      const span = spans?.startAttempt(ctx, pool, endpoint, attempt, hedge);
      const end = (outcome: string, code?: string) => {
        metrics?.attemptSeries(pool, endpoint, outcome).observe((performance.now() - t0) / 1000);
        if (span) spans?.endAttempt(span, outcome, code);
      };
      return span ? Object.assign(end, { traceparent: traceparentOf(span) }) : end;
    },
    firstByte: () => {},
    retry: (pool, errorClass) => metrics?.retries.inc({ model: pool, error_class: errorClass }),
    retryBudgetExhausted: (pool) => metrics?.retryBudgetExhausted.inc({ model: pool }),
    hedge: (pool) => metrics?.hedges.inc({ model: pool }),
    fallback: (from, to, errorClass) =>
      metrics?.fallbacks.inc({ model: from, fallback_model: to, error_class: errorClass }),
    breaker: (pool, endpoint, _from, to) =>
      metrics?.breakerTransitions.inc({ model: pool, endpoint, state: to }),
    ejected: (pool, endpoint) => metrics?.ejections.inc({ model: pool, endpoint }),
    health: (pool, endpoint, healthy) =>
      metrics?.healthTransitions.inc({ model: pool, endpoint, healthy: healthy ? "true" : "false" }),
    shed: (pool) => metrics?.shed.inc({ model: pool }),
    shadow: (pool, outcome, ms) => metrics?.shadow(pool, outcome, ms),
    batch: (model, items, queueDelaysMs) => metrics?.batch(model, items, queueDelaysMs),
    interTokenRecorder: gaps,
  };
}
