/**
 * A real OpenTelemetry Collector for the tracing tests: `switchyard-otelcol`, built from the
 * collector's own modules (test/observability/collector/, by scripts/install-test-deps.sh). It takes
 * OTLP/HTTP on a free port with the collector's otlpreceiver and forwards every batch, as OTLP JSON
 * written by the collector's otlphttp exporter, to a receiver in the test process. What the test reads
 * is thus the collector's own reading of the gateway's spans.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findGoTool, skipReason } from "../helpers/binaries.js";
import { freePort } from "../helpers/ports.js";
import { type DecodedSpan, startReceiver } from "./otlp.js";

const BINARY = "switchyard-otelcol";

/** Undefined when the collector can run; else why not (throws under CI, which installs it). */
export function collectorSkip(): string | undefined {
  if (findGoTool(BINARY)) return undefined;
  return skipReason(`${BINARY} is not installed: run scripts/install-test-deps.sh`);
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type KeyValue = { key: string; value: AnyValue };

function value(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.doubleValue !== undefined) return v.doubleValue;
  throw new Error(`unexpected attribute value ${JSON.stringify(v)}`);
}

function attrs(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list ?? []) out[kv.key] = value(kv.value);
  return out;
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  events?: Array<{ name: string; timeUnixNano: string }>;
  status?: { code?: number };
}

/** OTLP JSON (`ExportTraceServiceRequest`) as the collector writes it: ids in hex, int64 as strings. */
export function decodeJsonTraces(body: string): DecodedSpan[] {
  const req = JSON.parse(body) as {
    resourceSpans?: Array<{
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: Array<{ spans?: JsonSpan[] }>;
    }>;
  };
  const out: DecodedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? "",
          traceState: s.traceState ?? "",
          name: s.name,
          kind: s.kind ?? 0,
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, timeNs: BigInt(e.timeUnixNano) })),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
  return out;
}

export interface Collector {
  /** The collector's OTLP/HTTP address, for `observability.tracing.endpoint`. */
  url: string;
  /** Every span the collector forwarded, in arrival order. */
  spans: DecodedSpan[];
  /** The content types of the collector's exports (its exporter is set to JSON). */
  contentTypes: string[];
  /** Exports from the collector the test could not read as OTLP JSON. */
  errors: string[];
  /** What the collector printed (its logs go to stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the receiver, then the collector pointed at it; resolves once the collector is ready. */
export async function startCollector(): Promise<Collector> {
  const sink = await startReceiver((body) => decodeJsonTraces(body.toString("utf8")));
  const sinkPort = new URL(sink.url).port;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "switchyard-otelcol-"));
  const config = join(dir, "collector.yaml");
  // No sending queue: the collector answers the gateway's export only once it has forwarded the
  // batch, so the spans are here by the time the gateway's exporter moves on.
  writeFileSync(
    config,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
exporters:
  otlphttp:
    traces_endpoint: http://127.0.0.1:${sinkPort}/v1/traces
    encoding: json
    compression: none
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
`,
  );
  const proc: ChildProcess = spawn(findGoTool(BINARY) as string, ["--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const cleanup = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    await exited;
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`collector not ready in 30 s:\n${out}`)), 30_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes("Everything is ready")) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on("data", onData);
      proc.stderr?.on("data", onData);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`collector exited with ${code}:\n${out}`));
      });
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    spans: sink.spans,
    contentTypes: sink.contentTypes,
    errors: sink.errors,
    output: () => out,
    stop: cleanup,
  };
}
