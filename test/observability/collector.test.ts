/**
 * Traces through a real OpenTelemetry Collector (see collector.ts): the gateway exports OTLP/HTTP
 * protobuf to the collector's otlpreceiver, and the spans are read back from the collector's own
 * OTLP JSON export. One request that retries once, a stream and a job across the queue: each is one
 * trace with the expected parents, kinds, attributes and events, and the `traceparent` the upstream
 * sim received names a span of that trace.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { type Running, startGateway, startSim } from "../helpers/proc.js";
import { type Collector, collectorSkip, startCollector } from "./collector.js";
import type { DecodedSpan } from "./otlp.js";

const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;
const CLIENT_SPAN = "00f067aa0ba902b7";
const TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

async function spansOf(col: Collector, traceId: string, count: number): Promise<DecodedSpan[]> {
  const until = Date.now() + 15_000;
  for (;;) {
    const found = col.spans.filter((s) => s.traceId === traceId);
    if (found.length >= count) return found;
    assert.ok(
      Date.now() < until,
      `${found.length} of ${count} spans of ${traceId} came through the collector:\n${col.output()}`,
    );
    await sleep(100);
  }
}

/** What the sim saw of request `id`: the trace headers of each attempt. */
async function simSaw(simUrl: string, id: string) {
  const res = await request(`${simUrl}/sim/requests/${id}`);
  const body = (await res.body.json()) as {
    history: Array<{ traceparent: string | null; tracestate: string | null }>;
  };
  return body.history;
}

describe("traces through a real OpenTelemetry Collector", { skip: collectorSkip() }, () => {
  let sim: Running;
  let gw: Running;
  let col: Collector;

  before(async () => {
    col = await startCollector();
    sim = await startSim(["--model", "sim-small:instant"]);
    gw = await startGateway({
      logging: { level: "warn" },
      store: { path: join(mkdtempSync(join(tmpdir(), "switchyard-collector-")), "jobs.db") },
      jobs: { workers: 2 },
      observability: {
        tracing: { endpoint: col.url, scheduledDelayMs: 50, serviceName: "switchyard-collector-test" },
      },
      models: {
        "sim-small": {
          endpoints: [{ kind: "openai", url: `${sim.url}/v1`, id: "replica-a" }],
          retry: { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 1 },
        },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
    await col?.stop();
  });

  test("a request that retries once: one server span, two sibling client spans, the upstream's traceparents in the trace", async () => {
    const trace = "8bf92f3577b34da6a3ce929d0e0e4721";
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-request-id": "collector-retry-1",
        "x-sim-fault": "seq=503,200",
        traceparent: `00-${trace}-${CLIENT_SPAN}-01`,
        tracestate: TRACESTATE,
      },
      body: JSON.stringify({
        model: "sim-small",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 5,
      }),
    });
    const body = (await res.body.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    assert.equal(res.statusCode, 200);

    const spans = await spansOf(col, trace, 3);
    assert.ok(
      col.contentTypes.every((t) => t === "application/json"),
      col.contentTypes.join(),
    );
    assert.equal(spans.length, 3, spans.map((s) => s.name).join());
    const srv = spans.find((s) => s.kind === SERVER);
    assert.ok(srv, "a server span");
    assert.equal(srv.name, "POST /v1/chat/completions");
    assert.equal(srv.parentSpanId, CLIENT_SPAN);
    assert.equal(srv.traceState, TRACESTATE);
    assert.equal(res.headers.traceparent, `00-${trace}-${srv.spanId}-01`);
    assert.equal(srv.resource["service.name"], "switchyard-collector-test");
    assert.equal(srv.attributes["http.request.method"], "POST");
    assert.equal(srv.attributes["http.route"], "/v1/chat/completions");
    assert.equal(srv.attributes["http.response.status_code"], 200);
    assert.equal(srv.attributes["gen_ai.request.model"], "sim-small");
    assert.equal(srv.attributes["gen_ai.usage.input_tokens"], body.usage.prompt_tokens);
    assert.equal(srv.attributes["gen_ai.usage.output_tokens"], body.usage.completion_tokens);
    assert.ok(srv.startNs > 0n && srv.endNs >= srv.startNs);

    const attempts = spans.filter((s) => s.kind === CLIENT).sort((a, b) => Number(a.startNs - b.startNs));
    assert.equal(attempts.length, 2);
    const [first, second] = attempts as [DecodedSpan, DecodedSpan];
    for (const a of attempts) {
      assert.equal(a.parentSpanId, srv.spanId);
      assert.equal(a.traceState, TRACESTATE);
      assert.ok(a.startNs >= srv.startNs && a.endNs <= srv.endNs);
    }
    assert.equal(first.attributes["switchyard.attempt"], 1);
    assert.equal(first.attributes["error.type"], "upstream_unavailable");
    assert.equal(first.statusCode, 2);
    assert.equal(second.attributes["switchyard.attempt"], 2);
    assert.equal(second.attributes["switchyard.outcome"], "success");

    const seen = await simSaw(sim.url, "collector-retry-1");
    assert.deepEqual(
      seen.map((h) => [h.traceparent, h.tracestate]),
      [
        [`00-${trace}-${first.spanId}-01`, TRACESTATE],
        [`00-${trace}-${second.spanId}-01`, TRACESTATE],
      ],
    );
  });

  test("a stream: the server span carries the first-token event inside its time", async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "collector-stream-1" },
      body: JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    assert.match(await res.body.text(), /data: \[DONE\]/);
    const trace = String(res.headers.traceparent).split("-")[1] as string;
    const spans = await spansOf(col, trace, 2);
    const srv = spans.find((s) => s.kind === SERVER);
    assert.ok(srv, spans.map((s) => s.name).join());
    assert.equal(srv.parentSpanId, "");
    const first = srv.events.find((e) => e.name === "gen_ai.first_token");
    assert.ok(first, srv.events.map((e) => e.name).join());
    assert.ok(first.timeNs >= srv.startNs && first.timeNs <= srv.endNs);
  });

  test("a job: submit span → run span (consumer) → attempt span, with the submitter's tracestate upstream", async () => {
    const trace = "9bf92f3577b34da6a3ce929d0e0e4722";
    const submit = await request(`${gw.url}/v1/jobs`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${trace}-${CLIENT_SPAN}-01`,
        tracestate: TRACESTATE,
      },
      body: JSON.stringify({
        type: "chat.completion",
        request: { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
      }),
    });
    const job = (await submit.body.json()) as { id: string };
    assert.equal(submit.statusCode, 202, JSON.stringify(job));
    const spans = await spansOf(col, trace, 3);
    const srv = spans.find((s) => s.kind === SERVER && s.name === "POST /v1/jobs");
    const run = spans.find((s) => s.kind === CONSUMER);
    const attempt = spans.find((s) => s.kind === CLIENT);
    assert.ok(srv && run && attempt, spans.map((s) => `${s.kind} ${s.name}`).join());
    assert.equal(srv.parentSpanId, CLIENT_SPAN);
    assert.equal(run.name, "job chat.completion");
    assert.equal(run.parentSpanId, srv.spanId);
    assert.equal(run.attributes["switchyard.job_id"], job.id);
    assert.equal(run.attributes["switchyard.job.attempt"], 1);
    assert.equal(run.traceState, TRACESTATE);
    assert.equal(attempt.parentSpanId, run.spanId);
    const seen = await simSaw(sim.url, job.id);
    assert.deepEqual(
      seen.map((h) => [h.traceparent, h.tracestate]),
      [[`00-${trace}-${attempt.spanId}-01`, TRACESTATE]],
    );
  });
});
