/**
 * The gateway's tracer: spans in OpenTelemetry's model (W3C trace context, parent-based ratio
 * sampling, OTLP semantic attributes) exported over OTLP/HTTP with protobuf bodies. It records only
 * what `spans.ts` asks of it, and writes a span to protobuf as it ends (`otlp.ts`), so tracing every
 * request costs a few microseconds rather than the general-purpose SDK's hundred.
 */
import { newSpanId } from "../core/ids.js";
import type { TracingConfig } from "./config.js";
import {
  type EndedSpan,
  OtlpExporter,
  type SpanAttributes,
  type SpanEvent,
  StatusCode,
  spanFlags,
} from "./otlp.js";

/** The span a new span is a child of. */
export interface SpanParent {
  readonly spanId: string;
  readonly sampled: boolean;
  readonly remote: boolean;
  readonly traceState: string | undefined;
}

/** One span. When its trace is not sampled it only carries ids (for the `traceparent` sent on). */
export class TraceSpan implements EndedSpan {
  readonly attributes: SpanAttributes;
  events: SpanEvent[] | undefined;
  statusCode: number = StatusCode.unset;
  statusMessage: string | undefined;
  endMs = 0;
  readonly flags: number;

  constructor(
    private readonly sink: OtlpExporter | undefined,
    public name: string,
    readonly kind: number,
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string | undefined,
    readonly traceState: string | undefined,
    readonly sampled: boolean,
    remoteParent: boolean,
    readonly startMs: number,
    /** Kept as the span's own: the caller hands over an object it does not share. */
    attributes: SpanAttributes,
  ) {
    this.flags = spanFlags(sampled, remoteParent);
    this.attributes = attributes;
  }

  setAttribute(key: string, value: SpanAttributes[string]): void {
    if (this.sampled && !this.endMs) this.attributes[key] = value;
  }

  addEvent(
    name: string,
    attributes?: SpanAttributes,
    timeMs = performance.timeOrigin + performance.now(),
  ): void {
    if (!this.sampled || this.endMs) return;
    const event = { name, timeMs, attributes };
    if (this.events) this.events.push(event);
    else this.events = [event];
  }

  setStatus(code: number, message?: string): void {
    if (!this.sampled || this.endMs) return;
    this.statusCode = code;
    this.statusMessage = message;
  }

  updateName(name: string): void {
    if (!this.endMs) this.name = name;
  }

  /** Ends the span (once) and hands it to the exporter when it is sampled. */
  end(timeMs = performance.timeOrigin + performance.now()): void {
    if (this.endMs) return;
    this.endMs = Math.max(timeMs, this.startMs);
    if (this.sampled) this.sink?.add(this);
  }
}

/**
 * OpenTelemetry's `TraceIdRatioBasedSampler` decision, so a gateway and other OpenTelemetry services
 * that see the same trace id agree: the XOR of the trace id's four 32-bit words against the ratio of
 * 2^32 - 1.
 */
export function ratioSampled(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  let acc = 0;
  for (let i = 0; i < traceId.length; i += 8)
    acc = (acc ^ Number.parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
  return acc <= Math.floor(ratio * 0xffffffff);
}

export interface Tracer {
  /**
   * Starts a span. `spanId` pins its id (a request context's own); `parent` undefined starts a trace
   * with `traceId`, sampled by the configured ratio; otherwise the parent's sampled flag is followed.
   * The span keeps `attributes` as its own object.
   */
  start(
    name: string,
    kind: number,
    traceId: string,
    spanId: string | undefined,
    parent: SpanParent | undefined,
    attributes: SpanAttributes,
    startMs?: number,
  ): TraceSpan;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** `http://collector:4318` → `http://collector:4318/v1/traces`; a URL already ending in `/v1/traces` is kept. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return base.endsWith("/v1/traces") ? base : `${base}/v1/traces`;
}

export interface TracingHooks {
  onSpans?: (outcome: "exported" | "dropped" | "failed", count: number) => void;
  onFailure?: (reason: string, spans: number, dropped: number) => void;
}

export function startTracing(
  cfg: TracingConfig & { endpoint: string },
  version: string,
  hooks: TracingHooks = {},
): Tracer {
  const exporter = new OtlpExporter({
    url: tracesUrl(cfg.endpoint),
    headers: cfg.headers,
    resource: {
      "service.name": cfg.serviceName,
      "service.version": version,
      "telemetry.sdk.name": "switchyard",
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.version": version,
    },
    scope: { name: "switchyard", version },
    maxQueueSize: cfg.maxQueueSize,
    maxExportBatchSize: cfg.maxExportBatchSize,
    scheduledDelayMs: cfg.scheduledDelayMs,
    exportTimeoutMs: cfg.exportTimeoutMs,
    ...hooks,
  });
  const ratio = cfg.sampleRatio;
  return {
    start(name, kind, traceId, spanId, parent, attributes, startMs) {
      const sampled = parent ? parent.sampled : ratioSampled(traceId, ratio);
      return new TraceSpan(
        exporter,
        name,
        kind,
        traceId,
        spanId ?? newSpanId(),
        parent?.spanId,
        parent?.traceState,
        sampled,
        parent?.remote ?? false,
        startMs ?? performance.timeOrigin + performance.now(),
        attributes,
      );
    },
    forceFlush: () => exporter.flush(),
    shutdown: () => exporter.shutdown(),
  };
}
