import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { call } from "../helpers/http.js";
import { type Running, startGateway } from "../helpers/proc.js";
import { type DecodedSpan, type Receiver, startReceiver } from "../observability/otlp.js";
import { pipelineModels, startPipelineSim } from "./_helpers.js";

// A gateway process exporting spans over OTLP to a receiver in this test: one run is one trace,
// with a span per run and per step (and per map item), and the upstream attempts beneath them.

const TRACE = "5bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "10f067aa0ba902b7";

let sim: Running;
let gw: Running;
let rx: Receiver;

before(async () => {
  rx = await startReceiver();
  sim = await startPipelineSim();
  gw = await startGateway({
    logging: { level: "warn", accessLog: false },
    observability: { tracing: { endpoint: rx.url, scheduledDelayMs: 50 } },
    models: pipelineModels(sim.url),
    pipelines: {
      traced: {
        inputs: { items: { type: "array", items: "string", default: ["x", "y"] } },
        steps: {
          a: { model: "sim-small", prompt: "a", request: { max_tokens: 2 } },
          each: { model: "sim-embed", map: { over: "input.items" }, input: "{{ item }}" },
          b: {
            model: "sim-small",
            prompt: "{{ steps.a.output.text }}",
            request: { max_tokens: 2 },
            headers: { "x-sim-fault": "seq=500,200" },
            retry: { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 1 },
          },
        },
      },
    },
  });
});
after(async () => {
  await gw?.stop();
  await sim?.stop();
  await rx?.close();
});

async function spansOf(traceId: string, count: number): Promise<DecodedSpan[]> {
  const until = Date.now() + 15_000;
  for (;;) {
    const found = rx.spans.filter((s) => s.traceId === traceId);
    if (found.length >= count || Date.now() > until) return found;
    await sleep(100);
  }
}

test("a run is one trace: run span, step spans, item spans, attempts beneath them", {
  timeout: 30_000,
}, async () => {
  const r = await call(gw.url, "/v1/pipelines/traced", {
    body: { input: {} },
    headers: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01` },
  });
  assert.equal(r.status, 200, r.text);
  // server + run + 3 steps + 2 items + attempts (a: 1, b: 2, items: 2) = 12
  const spans = await spansOf(TRACE, 12);
  const one = (name: string) => {
    const found = spans.filter((s) => s.name === name);
    assert.equal(found.length, 1, `${name}: ${spans.map((s) => s.name).join(", ")}`);
    return found[0] as DecodedSpan;
  };
  const server = one("POST /v1/pipelines/:name");
  assert.equal(server.parentSpanId, CLIENT_SPAN);
  const run = one("pipeline traced");
  assert.equal(run.parentSpanId, server.spanId);
  assert.equal(run.attributes["switchyard.pipeline"], "traced");
  const stepA = one("pipeline.step traced.a");
  const stepB = one("pipeline.step traced.b");
  const stepEach = one("pipeline.step traced.each");
  for (const s of [stepA, stepB, stepEach]) assert.equal(s.parentSpanId, run.spanId, s.name);
  const attemptsOf = (parent: DecodedSpan) =>
    spans.filter((s) => s.parentSpanId === parent.spanId && s.kind === 3);
  assert.equal(attemptsOf(stepA).length, 1);
  const bAttempts = attemptsOf(stepB);
  assert.equal(bAttempts.length, 2, "a retried step has both attempts beneath it");
  assert.deepEqual(bAttempts.map((s) => s.attributes["switchyard.attempt"]).sort(), [1, 2]);
  const items = spans.filter((s) => s.name.startsWith("pipeline.item each["));
  assert.equal(items.length, 2);
  for (const item of items) {
    assert.equal(item.parentSpanId, stepEach.spanId);
    assert.equal(attemptsOf(item).length, 1);
  }
  assert.ok(stepB.startNs >= stepA.endNs, "b starts after a, which it reads");
});
