/**
 * The one file that loads the OpenTelemetry SDK. It is imported dynamically, and only when tracing
 * is configured with an endpoint; without one the gateway never loads it and the instrumented code
 * runs against `@opentelemetry/api` alone.
 */
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
  ParentBasedSampler,
  RandomIdGenerator,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { TracingConfig } from "./config.js";
import type { TracingEngine } from "./spans.js";

/** Random ids, except that the next span may be given the ids its `RequestContext` already carries. */
class PinnableIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private traceId: string | undefined;
  private spanId: string | undefined;

  pin(traceId: string | undefined, spanId: string): void {
    this.traceId = traceId;
    this.spanId = spanId;
  }

  generateTraceId(): string {
    const id = this.traceId;
    this.traceId = undefined;
    return id ?? this.random.generateTraceId();
  }

  generateSpanId(): string {
    const id = this.spanId;
    this.spanId = undefined;
    return id ?? this.random.generateSpanId();
  }
}

/** `http://collector:4318` → `http://collector:4318/v1/traces`; a URL already ending in `/v1/traces` is kept. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return base.endsWith("/v1/traces") ? base : `${base}/v1/traces`;
}

/** A tracer provider of its own (not registered globally: one process may run several gateways). */
export function startTracing(cfg: TracingConfig & { endpoint: string }, version: string): TracingEngine {
  const ids = new PinnableIds();
  const exporter = new OTLPTraceExporter({
    url: tracesUrl(cfg.endpoint),
    headers: { ...cfg.headers },
    timeoutMillis: cfg.exportTimeoutMs,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: cfg.serviceName,
      [ATTR_SERVICE_VERSION]: version,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(cfg.sampleRatio) }),
    idGenerator: ids,
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: cfg.maxQueueSize,
        maxExportBatchSize: cfg.maxExportBatchSize,
        scheduledDelayMillis: cfg.scheduledDelayMs,
        exportTimeoutMillis: cfg.exportTimeoutMs,
      }),
    ],
  });
  return {
    tracer: provider.getTracer("switchyard", version),
    pinIds: (traceId, spanId) => ids.pin(traceId, spanId),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
