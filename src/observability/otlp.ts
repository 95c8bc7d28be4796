/**
 * OTLP/HTTP trace export with protobuf bodies (`opentelemetry/proto/trace/v1/trace.proto`,
 * `ExportTraceServiceRequest`). A finished span is written to protobuf once, when it ends, into the
 * batch that will carry it; an export only prefixes the resource and scope. Nothing per span is kept
 * as objects after it ends, which is what keeps tracing every request cheap.
 */
import { Pool } from "../core/http-client.js";

/** A span attribute value, as OTLP's `AnyValue` carries it. */
export type AttributeValue = string | number | boolean | readonly (string | number | boolean)[];
export type SpanAttributes = Record<string, AttributeValue | undefined>;

/** OTLP's `Span.SpanKind` numbers. */
export const SpanKindCode = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
/** OTLP's `Status.StatusCode` numbers. */
export const StatusCode = { unset: 0, ok: 1, error: 2 } as const;

/** What the encoder reads of an ended span. Times are epoch milliseconds (fractions kept). */
export interface EndedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly traceState: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: SpanAttributes;
  readonly events: readonly SpanEvent[] | undefined;
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  /** W3C trace flags, plus OTLP's "parent is remote" bits. */
  readonly flags: number;
}

export interface SpanEvent {
  readonly name: string;
  readonly timeMs: number;
  readonly attributes: SpanAttributes | undefined;
}

/** OTLP `Span.flags`: bit 8 says whether the parent's remoteness is known, bit 9 that it is remote. */
export function spanFlags(sampled: boolean, remoteParent: boolean): number {
  return (sampled ? 1 : 0) | 0x100 | (remoteParent ? 0x200 : 0);
}

/** A hex digit's value (ids are validated lower-case hex before they get here). */
const nibble = (c: number): number => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);

const varintSize = (v: number): number =>
  v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;

/**
 * A protobuf writer into one growing buffer. A nested message reserves one byte for its length and
 * moves its bytes along when the length needs more (messages over 127 bytes: spans, not attributes).
 */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer up to 2^53. */
  varint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (v > 0x7fffffff) {
      b[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  tag(field: number, wire: number): void {
    const t = (field << 3) | wire;
    if (t < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = t;
    } else this.varint(t);
  }

  /** Bytes written as they are (a field encoded once and kept). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  uint(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  /** `int64`: negative values are ten bytes of two's complement. */
  int64(field: number, v: number): void {
    if (v >= 0) {
      this.uint(field, v);
      return;
    }
    this.tag(field, 0);
    this.ensure(10);
    let x = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  fixed32(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** `fixed64` nanoseconds since the epoch, from epoch milliseconds. */
  timeNs(field: number, ms: number): void {
    this.tag(field, 1);
    this.ensure(8);
    // secs × 10^9 + nanos overflows a double's exact range: build the two 32-bit halves instead.
    const secs = Math.floor(ms / 1000);
    const nanos = Math.min(999_999_999, Math.max(0, Math.round((ms - secs * 1000) * 1e6)));
    const hiSecs = Math.floor(secs / 0x10000); // secs = hiSecs·2^16 + loSecs, each product exact
    const loSecs = secs % 0x10000;
    const low = loSecs * 1e9 + nanos; // < 2^46
    const high = hiSecs * 1e9; // < 2^46, to be shifted left 16 bits
    const highTop = Math.floor(high / 0x10000); // high·2^16 = highTop·2^32 + highLow·2^16
    const highLow = high % 0x10000;
    let lo = (low % 0x100000000) + highLow * 0x10000;
    let hi = Math.floor(low / 0x100000000) + highTop;
    if (lo >= 0x100000000) {
      lo -= 0x100000000;
      hi += 1;
    }
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  string(field: number, s: string): void {
    this.tag(field, 2);
    const n = s.length;
    this.ensure(n * 3 + 5);
    if (n < 0x80) {
      // Short strings, nearly always ASCII: written here, without a call into the runtime.
      const b = this.buf;
      const at = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = at + n;
        return;
      }
    }
    const len = Buffer.byteLength(s, "utf8");
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  /** `bytes` from lower-case hex (trace and span ids). */
  hex(field: number, hex: string): void {
    this.tag(field, 2);
    const n = hex.length >>> 1;
    this.ensure(n + 1);
    const b = this.buf;
    let p = this.pos;
    b[p++] = n;
    for (let i = 0; i < n; i++)
      b[p++] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
    this.pos = p;
  }

  /** Opens a nested message as field `field`; `end` with what this returns closes it. */
  begin(field: number): number {
    this.tag(field, 2);
    this.ensure(1);
    return this.pos++;
  }

  end(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const extra = varintSize(len) - 1;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.varint(len);
    this.pos = end;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function writeValue(w: ProtoWriter, v: AttributeValue): void {
  if (typeof v === "string") w.string(1, v);
  else if (typeof v === "boolean") w.uint(2, v ? 1 : 0);
  else if (typeof v === "number") {
    if (Number.isSafeInteger(v)) w.int64(3, v);
    else w.double(4, v);
  } else {
    const list = w.begin(5);
    for (const item of v) {
      const one = w.begin(1);
      writeValue(w, item);
      w.end(one);
    }
    w.end(list);
  }
}

/**
 * `KeyValue.key` fields, encoded once: attribute keys are the gateway's own constants (a pipeline's
 * step attributes included), so the cache stays small; it is bounded all the same.
 */
const KEYS = new Map<string, Buffer>();
const MAX_KEYS = 512;

function keyField(key: string): Buffer {
  let k = KEYS.get(key);
  if (k === undefined) {
    const w = new ProtoWriter(key.length * 3 + 8);
    w.string(1, key);
    k = Buffer.from(w.bytes());
    if (KEYS.size < MAX_KEYS) KEYS.set(key, k);
  }
  return k;
}

/** `repeated KeyValue` as field `field`; undefined values are left out. */
export function writeAttributes(w: ProtoWriter, field: number, attributes: SpanAttributes): void {
  for (const key in attributes) {
    const v = attributes[key];
    if (v === undefined || v === null) continue;
    const kv = w.begin(field);
    w.raw(keyField(key));
    const any = w.begin(2);
    writeValue(w, v);
    w.end(any);
    w.end(kv);
  }
}

/** One `Span` message as field 2 of `ScopeSpans`. */
export function writeSpan(w: ProtoWriter, s: EndedSpan): void {
  const at = w.begin(2);
  w.hex(1, s.traceId);
  w.hex(2, s.spanId);
  if (s.traceState) w.string(3, s.traceState);
  if (s.parentSpanId) w.hex(4, s.parentSpanId);
  w.string(5, s.name);
  w.uint(6, s.kind);
  w.timeNs(7, s.startMs);
  w.timeNs(8, s.endMs);
  writeAttributes(w, 9, s.attributes);
  if (s.events) {
    for (const e of s.events) {
      const ev = w.begin(11);
      w.timeNs(1, e.timeMs);
      w.string(2, e.name);
      if (e.attributes) writeAttributes(w, 3, e.attributes);
      w.end(ev);
    }
  }
  if (s.statusCode !== StatusCode.unset) {
    const st = w.begin(15);
    if (s.statusMessage) w.string(2, s.statusMessage);
    w.uint(3, s.statusCode);
    w.end(st);
  }
  w.fixed32(16, s.flags);
  w.end(at);
}

/**
 * The bytes of an `ExportTraceServiceRequest` that come before a batch's spans: one `ResourceSpans`
 * with the resource, one `ScopeSpans` with the scope, its length counting `spansLength` bytes of
 * spans that follow.
 */
export function requestHead(resource: Buffer, scope: Buffer, spansLength: number): Buffer {
  const scopeSpansLen = scope.length + spansLength;
  const resourceSpansLen = resource.length + 1 + varintSize(scopeSpansLen) + scopeSpansLen;
  const w = new ProtoWriter(resource.length + scope.length + 32);
  w.tag(1, 2);
  w.varint(resourceSpansLen);
  w.buf.set(resource, w.pos);
  w.pos += resource.length;
  w.tag(2, 2);
  w.varint(scopeSpansLen);
  w.buf.set(scope, w.pos);
  w.pos += scope.length;
  return w.bytes();
}

/** `ResourceSpans.resource` (field 1) with these attributes. */
export function resourceField(attributes: SpanAttributes): Buffer {
  const w = new ProtoWriter(512);
  const at = w.begin(1);
  writeAttributes(w, 1, attributes);
  w.end(at);
  return Buffer.from(w.bytes());
}

/** `ScopeSpans.scope` (field 1): the instrumentation scope's name and version. */
export function scopeField(name: string, version: string): Buffer {
  const w = new ProtoWriter(256);
  const at = w.begin(1);
  w.string(1, name);
  w.string(2, version);
  w.end(at);
  return Buffer.from(w.bytes());
}

export interface ExporterOptions {
  /** The full traces URL (`…/v1/traces`). */
  url: string;
  headers: Record<string, string>;
  resource: SpanAttributes;
  scope: { name: string; version: string };
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  exportTimeoutMs: number;
  /** Counts spans by what became of them. */
  onSpans?: (outcome: "exported" | "dropped" | "failed", count: number) => void;
  /** A batch could not be delivered (after retries); `dropped` spans were refused by a full queue since the last report. */
  onFailure?: (reason: string, spans: number, dropped: number) => void;
}

interface Batch {
  w: ProtoWriter;
  spans: number;
}

/** Statuses OTLP/HTTP says to retry, with backoff. */
const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * Batches ended spans and posts them to the collector: a batch leaves when it holds
 * `maxExportBatchSize` spans or `scheduledDelayMs` after its first span, one export at a time.
 * Beyond `maxQueueSize` spans waiting, new spans are dropped rather than slowing requests. A failed
 * export is retried with backoff on 429/502/503/504 and network errors, within `exportTimeoutMs`.
 */
export class OtlpExporter {
  private current: Batch;
  private readonly ready: Batch[] = [];
  private queued = 0;
  private dropped = 0;
  private droppedSinceReport = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private stopped = false;
  /** Set by `shutdown`: no export may run past it, so a dead collector cannot hold the exit. */
  private finalDeadline = Number.POSITIVE_INFINITY;
  private readonly head: { resource: Buffer; scope: Buffer };
  private readonly headers: Record<string, string>;
  /** Connections to the collector, kept alive between exports; opened with the first one. */
  private collector: Pool | undefined;
  private readonly url: URL;

  constructor(private readonly opts: ExporterOptions) {
    this.url = new URL(opts.url);
    this.current = this.newBatch();
    this.head = {
      resource: resourceField(opts.resource),
      scope: scopeField(opts.scope.name, opts.scope.version),
    };
    this.headers = { ...opts.headers, "content-type": "application/x-protobuf" };
  }

  private newBatch(): Batch {
    return { w: new ProtoWriter(Math.min(this.opts.maxExportBatchSize, 64) * 512), spans: 0 };
  }

  /** Spans refused by a full queue since the exporter started. */
  get droppedSpans(): number {
    return this.dropped;
  }

  add(span: EndedSpan): void {
    if (this.stopped || this.queued >= this.opts.maxQueueSize) {
      this.dropped++;
      this.droppedSinceReport++;
      this.opts.onSpans?.("dropped", 1);
      return;
    }
    const b = this.current;
    const at = b.w.pos;
    try {
      writeSpan(b.w, span);
    } catch {
      // A value the encoder cannot write (never one the gateway sets): the span is dropped, the
      // batch is left as it was, and the request that ended it is not disturbed.
      b.w.pos = at;
      this.dropped++;
      this.droppedSinceReport++;
      this.opts.onSpans?.("dropped", 1);
      return;
    }
    b.spans++;
    this.queued++;
    if (b.spans >= this.opts.maxExportBatchSize) {
      this.seal();
      this.pump();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.seal();
        this.pump();
      }, this.opts.scheduledDelayMs);
      this.timer.unref();
    }
  }

  private seal(): void {
    if (this.current.spans === 0) return;
    this.ready.push(this.current);
    this.current = this.newBatch();
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Starts sending ready batches, one at a time, unless that is already happening. */
  private pump(): void {
    if (this.sending) return;
    this.sending = this.drain().finally(() => {
      this.sending = undefined;
      // A batch sealed while the last export was finishing is not left waiting for the next span.
      if (this.ready.length > 0) this.pump();
    });
  }

  private async drain(): Promise<void> {
    for (let b = this.ready.shift(); b; b = this.ready.shift()) {
      const spans = b.w.bytes();
      const body = Buffer.concat([requestHead(this.head.resource, this.head.scope, spans.length), spans]);
      const error =
        performance.now() < this.finalDeadline ? await this.post(body) : "the shutdown's export time ran out";
      this.queued -= b.spans;
      if (error === undefined) this.opts.onSpans?.("exported", b.spans);
      else {
        this.opts.onSpans?.("failed", b.spans);
        this.opts.onFailure?.(error, b.spans, this.droppedSinceReport);
        this.droppedSinceReport = 0;
      }
    }
  }

  /** Posts one body; undefined when the collector took it, else why not. */
  private async post(body: Buffer): Promise<string | undefined> {
    const deadline = Math.min(performance.now() + this.opts.exportTimeoutMs, this.finalDeadline);
    let backoffMs = 1000;
    for (;;) {
      const left = deadline - performance.now();
      let why: string;
      let retryAfterMs: number | undefined;
      try {
        this.collector ??= new Pool(this.url.origin);
        const res = await this.collector.request({
          path: this.url.pathname + this.url.search,
          method: "POST",
          headers: this.headers,
          body,
          signal: AbortSignal.timeout(Math.max(1, Math.ceil(left))),
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) return undefined;
        why = `the collector answered ${res.statusCode}`;
        if (!RETRYABLE.has(res.statusCode)) return why;
        const ra = Number(res.headers["retry-after"]);
        if (Number.isFinite(ra) && ra >= 0) retryAfterMs = ra * 1000;
      } catch (err) {
        why = (err as Error).name === "TimeoutError" ? "the export timed out" : `${(err as Error).message}`;
      }
      const wait = retryAfterMs ?? backoffMs * (0.8 + Math.random() * 0.4);
      if (this.stopped || performance.now() + wait >= deadline) return why;
      await new Promise((r) => setTimeout(r, wait).unref());
      backoffMs = Math.min(backoffMs * 1.5, 5000);
    }
  }

  /** Sends everything waiting and resolves when it is sent (or has failed). */
  async flush(): Promise<void> {
    this.seal();
    while (this.sending || this.ready.length > 0) {
      this.pump();
      await this.sending;
    }
  }

  /**
   * Exports what waits, all of it within one `exportTimeoutMs` (what is left then is counted as
   * failed), then drops whatever ends later.
   */
  async shutdown(): Promise<void> {
    this.finalDeadline = performance.now() + this.opts.exportTimeoutMs;
    await this.flush();
    this.stopped = true;
    await this.collector?.close();
  }
}
