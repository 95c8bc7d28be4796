/**
 * The OTLP encoder against OpenTelemetry's own protobuf classes (Python `opentelemetry-proto`,
 * installed by .ci/run): every field the gateway writes decodes to what was recorded.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  type EndedSpan,
  ProtoWriter,
  requestHead,
  resourceField,
  scopeField,
  spanFlags,
  writeSpan,
} from "../../src/observability/otlp.js";
import { PYTHON, pythonSkipReason, run } from "../grpc/_tools.js";

const skip = await pythonSkipReason(
  "opentelemetry.proto",
  "the Python package opentelemetry-proto",
  "pip install opentelemetry-proto==1.45.2",
);

// A start time with a sub-millisecond part, past 2^53 nanoseconds (as every current time is).
const START_MS = 1_796_074_012_515.2168;

const server: EndedSpan = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  parentSpanId: "a3ce929d0e0e4736",
  traceState: "vendor=abc,other=x",
  name: "POST /v1/chat/completions",
  kind: 2,
  startMs: START_MS,
  endMs: START_MS + 12.345678,
  attributes: {
    "http.request.method": "POST",
    "http.response.status_code": 200,
    "switchyard.hedge": false,
    "gen_ai.usage.input_tokens": 0,
    ratio: 0.25,
    negative: -7,
    big: 2 ** 40,
    "unicode é": "日本語 ✓",
    long: "x".repeat(300),
    list: ["a", 2, true],
    skipped: undefined,
  },
  events: [
    {
      name: "switchyard.admitted",
      timeMs: START_MS + 1,
      attributes: { "gen_ai.request.model": "sim-small" },
    },
    { name: "gen_ai.first_token", timeMs: START_MS + 2.5, attributes: undefined },
  ],
  statusCode: 2,
  statusMessage: "upstream_unavailable",
  flags: spanFlags(true, true),
};
const client: EndedSpan = {
  ...server,
  spanId: "1111111111111111",
  parentSpanId: server.spanId,
  traceState: undefined,
  name: "chat sim-small",
  kind: 3,
  attributes: { "switchyard.attempt": 1 },
  events: undefined,
  statusCode: 0,
  statusMessage: undefined,
  flags: spanFlags(true, false),
};

type Json = Record<string, unknown>;
const b64hex = (s: unknown) => Buffer.from(String(s), "base64").toString("hex");
const nanos = (ms: number) => {
  const secs = Math.floor(ms / 1000);
  return String(BigInt(secs) * 1_000_000_000n + BigInt(Math.round((ms - secs * 1000) * 1e6)));
};

describe("OTLP encoding read by opentelemetry-proto", { skip }, () => {
  test("resource, scope, spans, attributes of every type, events and status decode as written", async () => {
    const w = new ProtoWriter(64); // small: the writer must grow
    writeSpan(w, server);
    writeSpan(w, client);
    const spans = w.bytes();
    const resource = resourceField({ "service.name": "switchyard-test", "service.version": "1.2.3" });
    const body = Buffer.concat([
      requestHead(resource, scopeField("switchyard", "1.2.3"), spans.length),
      spans,
    ]);
    const file = join(mkdtempSync(join(tmpdir(), "switchyard-otlp-")), "req.bin");
    writeFileSync(file, body);
    const r = await run(
      PYTHON as string,
      [join(import.meta.dirname, "python", "decode_otlp.py"), file],
      60_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const req = JSON.parse(r.stdout) as { resource_spans: Json[] };
    assert.equal(req.resource_spans.length, 1);
    const rs = req.resource_spans[0] as { resource: { attributes: Json[] }; scope_spans: Json[] };
    assert.deepEqual(rs.resource.attributes, [
      { key: "service.name", value: { string_value: "switchyard-test" } },
      { key: "service.version", value: { string_value: "1.2.3" } },
    ]);
    const ss = rs.scope_spans[0] as { scope: Json; spans: Json[] };
    assert.deepEqual(ss.scope, { name: "switchyard", version: "1.2.3" });
    assert.equal(ss.spans.length, 2);
    const [s, c] = ss.spans as [Json, Json];

    assert.equal(b64hex(s.trace_id), server.traceId);
    assert.equal(b64hex(s.span_id), server.spanId);
    assert.equal(b64hex(s.parent_span_id), server.parentSpanId);
    assert.equal(s.trace_state, server.traceState);
    assert.equal(s.name, server.name);
    assert.equal(s.kind, "SPAN_KIND_SERVER");
    assert.equal(s.start_time_unix_nano, nanos(server.startMs));
    assert.equal(s.end_time_unix_nano, nanos(server.endMs));
    assert.equal(s.flags, 0x301);
    assert.deepEqual(s.status, { message: "upstream_unavailable", code: "STATUS_CODE_ERROR" });
    assert.deepEqual(s.attributes, [
      { key: "http.request.method", value: { string_value: "POST" } },
      { key: "http.response.status_code", value: { int_value: "200" } },
      { key: "switchyard.hedge", value: { bool_value: false } },
      { key: "gen_ai.usage.input_tokens", value: { int_value: "0" } },
      { key: "ratio", value: { double_value: 0.25 } },
      { key: "negative", value: { int_value: "-7" } },
      { key: "big", value: { int_value: String(2 ** 40) } },
      { key: "unicode é", value: { string_value: "日本語 ✓" } },
      { key: "long", value: { string_value: "x".repeat(300) } },
      {
        key: "list",
        value: { array_value: { values: [{ string_value: "a" }, { int_value: "2" }, { bool_value: true }] } },
      },
    ]);
    assert.deepEqual(s.events, [
      {
        time_unix_nano: nanos(START_MS + 1),
        name: "switchyard.admitted",
        attributes: [{ key: "gen_ai.request.model", value: { string_value: "sim-small" } }],
      },
      { time_unix_nano: nanos(START_MS + 2.5), name: "gen_ai.first_token" },
    ]);

    assert.equal(b64hex(c.parent_span_id), server.spanId);
    assert.equal(c.kind, "SPAN_KIND_CLIENT");
    assert.equal(c.trace_state, undefined);
    assert.equal(c.status, undefined);
    assert.equal(c.flags, 0x101);
    assert.deepEqual(c.attributes, [{ key: "switchyard.attempt", value: { int_value: "1" } }]);
  });
});
