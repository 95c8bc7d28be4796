import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { LimitOutcome } from "../policy/gate.js";
import type { BreakerState } from "../routing/breaker.js";
import type { Pool } from "../routing/pool.js";
import { FastCounter, FastHistogram, type HistogramSeries, INTER_TOKEN_BUCKETS_S } from "./histogram.js";

/**
 * How often the event loop's delay is sampled for `nodejs_eventloop_lag_*` (prom-client's default is
 * every 10 ms). Each sample is a timer that wakes the process, 100 times a second at the default,
 * idle or not; where processes share a core (a gateway and its workers) those wake-ups took CPU from
 * the work itself (the distributed bench completed 4–15% more jobs per second at 100 ms). Ten samples
 * a second still give the lag percentiles of a scrape interval from a hundred or more samples.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export const PREFIX = "switchyard_";

/** Where the pool gauges read their figures at scrape time (the router's pools, whatever router is current). */
export type PoolSource = () => Iterable<Pool>;

const BREAKER_STATES: readonly BreakerState[] = ["closed", "open", "half_open"];

/** Buckets of the dynamic batch size (inputs per upstream call). */
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] as const;
/** Buckets in seconds of the time a request waits in a batch queue (100 µs to 1 s). */
const BATCH_DELAY_BUCKETS_S = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;

/** "2xx", "4xx", … from an HTTP status. */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}

/**
 * The metrics of one gateway, on a registry it owns (never prom-client's global one: tests run several
 * gateways in one process). Hot-path series use `FastHistogram`/`FastCounter`; rare events use
 * prom-client counters; pool and endpoint figures are gauges read at scrape time, costing nothing per
 * request. Label values are bounded: model names and endpoint ids come from the config, routes from
 * the registered routes, codes from the error registry.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private pools: PoolSource = () => [];
  readonly requests: FastCounter;
  readonly requestDuration: FastHistogram;
  readonly attemptDuration: FastHistogram;
  readonly ttft: FastHistogram;
  readonly itl: FastHistogram;
  readonly inputTokens: FastCounter;
  readonly outputTokens: FastCounter;
  readonly retries: Counter<"model" | "error_class">;
  readonly retryBudgetExhausted: Counter<"model">;
  readonly hedges: Counter<"model">;
  readonly fallbacks: Counter<"model" | "fallback_model" | "error_class">;
  readonly shed: Counter<"model">;
  readonly breakerTransitions: Counter<"model" | "endpoint" | "state">;
  readonly ejections: Counter<"model" | "endpoint">;
  readonly healthTransitions: Counter<"model" | "endpoint" | "healthy">;
  /** Every limited request counts here: a `FastCounter` (a prom-client child re-hashes its labels on each `inc`). */
  readonly rateLimit: FastCounter;
  readonly shadows: Counter<"model" | "outcome">;
  readonly shadowDuration: FastHistogram;
  readonly batchSize: FastHistogram;
  readonly batchQueueDelay: FastHistogram;
  readonly batches: FastCounter;
  readonly traceSpansCounter: FastCounter;
  private readonly itlByPool = new Map<string, (gapMs: number) => void>();

  constructor(opts: { processMetrics: boolean }) {
    const r = this.registry;
    const n = (s: string) => PREFIX + s;
    this.requests = new FastCounter(
      r,
      n("requests_total"),
      "Requests answered, by model, route, status class and error code.",
      ["model", "route", "status_class", "code"],
    );
    this.requestDuration = new FastHistogram(
      r,
      n("request_duration_seconds"),
      "Time from the request's arrival to the end of its answer (the last byte of a stream).",
      ["model", "route", "status_class"],
    );
    this.attemptDuration = new FastHistogram(
      r,
      n("upstream_attempt_duration_seconds"),
      "Duration of one upstream attempt (retries and hedges each count), by endpoint and outcome.",
      ["model", "endpoint", "outcome"],
    );
    this.ttft = new FastHistogram(
      r,
      n("time_to_first_token_seconds"),
      "Streams: time from the request's arrival to the first streamed event.",
      ["model"],
    );
    this.itl = new FastHistogram(
      r,
      n("inter_token_latency_seconds"),
      "Streams: time between two consecutive events relayed from the upstream.",
      ["model"],
      INTER_TOKEN_BUCKETS_S,
    );
    this.inputTokens = new FastCounter(
      r,
      n("input_tokens_total"),
      "Prompt tokens of answered requests, as the upstream reported them.",
      ["model"],
    );
    this.outputTokens = new FastCounter(
      r,
      n("output_tokens_total"),
      "Completion tokens of answered requests, as the upstream reported them.",
      ["model"],
    );
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name: n(name), help, labelNames, registers: [r] });
    this.retries = counter("retries_total", "Attempts retried after a retryable failure, by error class.", [
      "model",
      "error_class",
    ]);
    this.retryBudgetExhausted = counter(
      "retry_budget_exhausted_total",
      "Retries refused because the pool's retry budget was spent.",
      ["model"],
    );
    this.hedges = counter("hedges_total", "Hedged (duplicate) attempts started.", ["model"]);
    this.fallbacks = counter("fallbacks_total", "Requests moved to a fallback model, by error class.", [
      "model",
      "fallback_model",
      "error_class",
    ]);
    this.shed = counter(
      "shed_total",
      "Requests refused by admission control (queue full, shed for a higher priority, queue timeout).",
      ["model"],
    );
    this.breakerTransitions = counter(
      "breaker_transitions_total",
      "Circuit breaker state changes, by the state entered.",
      ["model", "endpoint", "state"],
    );
    this.ejections = counter("endpoint_ejections_total", "Outlier ejections of an endpoint.", [
      "model",
      "endpoint",
    ]);
    this.healthTransitions = counter(
      "endpoint_health_transitions_total",
      "Active health check verdict changes.",
      ["model", "endpoint", "healthy"],
    );
    this.rateLimit = new FastCounter(
      r,
      n("rate_limit_decisions_total"),
      "Rate-limit and quota decisions, by outcome.",
      ["outcome"],
    );
    this.shadows = counter(
      "shadow_requests_total",
      "Mirrored (shadow) requests, by outcome (success, failure, dropped).",
      ["model", "outcome"],
    );
    this.shadowDuration = new FastHistogram(
      r,
      n("shadow_duration_seconds"),
      "Duration of mirrored (shadow) requests that ran.",
      ["model"],
    );
    this.batchSize = new FastHistogram(
      r,
      n("batch_size"),
      "Dynamic batching: inputs per batched upstream call.",
      ["model"],
      BATCH_SIZE_BUCKETS,
    );
    this.batchQueueDelay = new FastHistogram(
      r,
      n("batch_queue_delay_seconds"),
      "Dynamic batching: time a request waited in the batch queue before its batch left.",
      ["model"],
      BATCH_DELAY_BUCKETS_S,
    );
    this.batches = new FastCounter(r, n("batches_total"), "Dynamic batching: batched upstream calls.", [
      "model",
    ]);
    this.traceSpansCounter = new FastCounter(
      r,
      n("trace_spans_total"),
      "Spans of the tracer by outcome: exported, dropped (export queue full) or failed (the collector did not take them).",
      ["outcome"],
    );
    this.poolGauges();
    if (opts.processMetrics) {
      collectDefaultMetrics({
        register: r,
        prefix: PREFIX,
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
      // Gauges named `_total` by prom-client, which `promtool check metrics` rejects.
      for (const name of ["active_handles_total", "active_requests_total", "active_resources_total"]) {
        r.removeSingleMetric(`${PREFIX}nodejs_${name}`);
      }
    }
  }

  /** Points the scrape-time gauges at the pools (call again when the router is replaced). */
  attach(pools: PoolSource): void {
    this.pools = pools;
  }

  private poolGauges(): void {
    const r = this.registry;
    const self = this;
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: L[],
      fill: (g: Gauge<L>, pool: Pool, now: number) => void,
    ) =>
      new Gauge<L>({
        name: PREFIX + name,
        help,
        labelNames,
        registers: [r],
        collect() {
          this.reset();
          const now = Date.now();
          for (const pool of self.pools()) fill(this, pool, now);
        },
      });
    gauge(
      "pool_in_flight_requests",
      "Requests holding an admission slot of the model's pool.",
      ["model"],
      (g, p) => g.set({ model: p.name }, p.admission.running),
    );
    gauge(
      "pool_queued_requests",
      "Requests waiting for an admission slot of the model's pool.",
      ["model"],
      (g, p) => g.set({ model: p.name }, p.admission.waiting),
    );
    gauge(
      "endpoint_in_flight_requests",
      "Upstream attempts in flight on an endpoint.",
      ["model", "endpoint"],
      (g, p) => {
        for (const e of p.endpoints) g.set({ model: p.name, endpoint: e.id }, e.inFlight);
      },
    );
    gauge(
      "endpoint_healthy",
      "1 when the endpoint passes its active health checks, else 0.",
      ["model", "endpoint"],
      (g, p) => {
        for (const e of p.endpoints) g.set({ model: p.name, endpoint: e.id }, e.activeHealthy ? 1 : 0);
      },
    );
    gauge(
      "endpoint_ejected",
      "1 while the endpoint is ejected as an outlier, else 0.",
      ["model", "endpoint"],
      (g, p, now) => {
        for (const e of p.endpoints) g.set({ model: p.name, endpoint: e.id }, now < e.ejectedUntil ? 1 : 0);
      },
    );
    gauge(
      "endpoint_breaker_state",
      "Circuit breaker state of the endpoint: 1 for the current state, 0 for the others.",
      ["model", "endpoint", "state"],
      (g, p, now) => {
        for (const e of p.endpoints) {
          const current = e.breaker.state(now);
          for (const state of BREAKER_STATES)
            g.set({ model: p.name, endpoint: e.id, state }, state === current ? 1 : 0);
        }
      },
    );
  }

  /** One finished request. */
  request(model: string, route: string, status: number, code: string, seconds: number): void {
    const cls = statusClass(status);
    this.requests.inc(1, model, route, cls, code);
    this.requestDuration.labels(model, route, cls).observe(seconds);
  }

  tokens(model: string, input: number, output: number): void {
    this.inputTokens.inc(input, model);
    this.outputTokens.inc(output, model);
  }

  attemptSeries(pool: string, endpoint: string, outcome: string): HistogramSeries {
    return this.attemptDuration.labels(pool, endpoint, outcome);
  }

  /** The per-pool recorder of gaps between streamed events: one shared function per pool, nothing per stream. */
  interToken(pool: string): (gapMs: number) => void {
    let rec = this.itlByPool.get(pool);
    if (!rec) {
      const series = this.itl.labels(pool);
      rec = (gapMs) => series.observe(gapMs / 1000);
      this.itlByPool.set(pool, rec);
    }
    return rec;
  }

  shadow(pool: string, outcome: string, ms: number): void {
    this.shadows.inc({ model: pool, outcome });
    if (outcome !== "dropped") this.shadowDuration.labels(pool).observe(ms / 1000);
  }

  /** One dynamic batch: its size in inputs and each member's wait in the queue. */
  batch(model: string, items: number, queueDelaysMs: readonly number[]): void {
    this.batches.inc(1, model);
    this.batchSize.labels(model).observe(items);
    const delay = this.batchQueueDelay.labels(model);
    for (const ms of queueDelaysMs) delay.observe(ms / 1000);
  }

  /** Spans of the tracer, by what became of them (exported, dropped by a full queue, failed to export). */
  traceSpans(outcome: "exported" | "dropped" | "failed", count: number): void {
    this.traceSpansCounter.inc(count, outcome);
  }

  limit(outcome: LimitOutcome): void {
    this.rateLimit.inc(1, outcome);
  }

  /** The exposition in the Prometheus text format. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
