import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { type Running, startGateway, startSim } from "../helpers/proc.js";
import { type DecodedSpan, type Receiver, startReceiver } from "./otlp.js";

const SERVER = 2;
const CLIENT = 3;
const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const PROMPT = "zebra-lantern-prompt-4711";
const SECRET = "sk-live-do-not-log-8842";

async function spansOf(rx: Receiver, traceId: string, count: number): Promise<DecodedSpan[]> {
  const until = Date.now() + 15_000;
  for (;;) {
    const found = rx.spans.filter((s) => s.traceId === traceId);
    if (found.length >= count || Date.now() > until) return found;
    await sleep(100);
  }
}

describe("traces exported over OTLP/HTTP protobuf", () => {
  let sim: Running;
  let gw: Running;
  let rx: Receiver;

  before(async () => {
    rx = await startReceiver();
    sim = await startSim(["--model", "sim-small:instant"]);
    gw = await startGateway({
      logging: { level: "info" },
      observability: {
        tracing: { endpoint: rx.url, scheduledDelayMs: 50, serviceName: "switchyard-test" },
      },
      models: {
        "sim-small": {
          // One replica: the sim counts attempts per replica, so both attempts must land on it.
          endpoints: [{ kind: "openai", url: `${sim.url}/v1`, id: "replica-a" }],
          retry: { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 1 },
        },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
    await rx?.close();
  });

  test("one request that retries once is one trace: a server span and two sibling client spans", async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-request-id": "trace-retry-1",
        "x-sim-fault": "seq=503,200",
        traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
        tracestate: "vendor=abc",
        authorization: `Bearer ${SECRET}`,
      },
      body: JSON.stringify({
        model: "sim-small",
        messages: [{ role: "user", content: PROMPT }],
        max_tokens: 6,
      }),
    });
    const body = (await res.body.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    assert.equal(res.statusCode, 200);

    const spans = await spansOf(rx, CLIENT_TRACE, 3);
    assert.ok(
      rx.contentTypes.every((t) => t === "application/x-protobuf"),
      rx.contentTypes.join(),
    );
    const server = spans.filter((s) => s.kind === SERVER);
    const attempts = spans.filter((s) => s.kind === CLIENT).sort((a, b) => Number(a.startNs - b.startNs));
    assert.equal(server.length, 1, JSON.stringify(spans.map((s) => s.name)));
    assert.equal(attempts.length, 2);
    const srv = server[0] as DecodedSpan;
    const [first, second] = attempts as [DecodedSpan, DecodedSpan];

    // The server span continues the client's trace and is the one the response names.
    assert.equal(srv.parentSpanId, CLIENT_SPAN);
    assert.equal(srv.traceState, "vendor=abc");
    assert.equal(srv.name, "POST /v1/chat/completions");
    assert.equal(res.headers.traceparent, `00-${CLIENT_TRACE}-${srv.spanId}-01`);
    assert.equal(srv.attributes["http.request.method"], "POST");
    assert.equal(srv.attributes["http.route"], "/v1/chat/completions");
    assert.equal(srv.attributes["http.response.status_code"], 200);
    assert.equal(srv.attributes["gen_ai.operation.name"], "chat");
    assert.equal(srv.attributes["gen_ai.request.model"], "sim-small");
    assert.equal(srv.attributes["gen_ai.usage.input_tokens"], body.usage.prompt_tokens);
    assert.equal(srv.attributes["gen_ai.usage.output_tokens"], body.usage.completion_tokens);
    assert.equal(srv.resource["service.name"], "switchyard-test");
    assert.ok(srv.events.some((e) => e.name === "switchyard.admitted"));

    // Retries are siblings under the server span.
    for (const a of attempts) {
      assert.equal(a.parentSpanId, srv.spanId);
      assert.equal(a.name, "chat sim-small");
      assert.equal(a.attributes["gen_ai.request.model"], "sim-small");
      assert.equal(a.attributes["server.address"], "127.0.0.1");
      assert.equal(a.attributes["switchyard.endpoint"], "replica-a");
      assert.ok(a.startNs >= srv.startNs && a.endNs <= srv.endNs, "attempt inside the request");
    }
    assert.equal(first.attributes["switchyard.attempt"], 1);
    assert.equal(first.attributes["switchyard.outcome"], "failure");
    assert.equal(first.attributes["error.type"], "upstream_unavailable");
    assert.equal(first.statusCode, 2);
    assert.equal(second.attributes["switchyard.attempt"], 2);
    assert.equal(second.attributes["switchyard.outcome"], "success");
    assert.equal(second.statusCode, 0);

    // The traceparent each upstream attempt carried names that attempt's span in this trace.
    const rec = await request(`${sim.url}/sim/requests/trace-retry-1`);
    const seen = (await rec.body.json()) as { history: Array<{ traceparent: string | null }> };
    assert.deepEqual(
      seen.history.map((h) => h.traceparent),
      [`00-${CLIENT_TRACE}-${first.spanId}-01`, `00-${CLIENT_TRACE}-${second.spanId}-01`],
    );

    // Log lines: the access line carries the trace and span ids; no line holds the prompt or the key.
    await sleep(300);
    const access = gw.lines.find((l) => l.msg === "request" && l.request_id === "trace-retry-1");
    assert.ok(access, "access line written");
    assert.equal(access.trace_id, CLIENT_TRACE);
    assert.equal(access.span_id, srv.spanId);
    const all = JSON.stringify(gw.lines) + gw.stderr();
    assert.ok(!all.includes(PROMPT), "prompt text in a log line");
    assert.ok(!all.includes(SECRET), "api key in a log line");
  });

  test("a stream gets a first-token event; a request without traceparent starts a new trace", async () => {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "trace-stream-1" },
      body: JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    await res.body.text();
    const traceId = String(res.headers.traceparent).split("-")[1] as string;
    const spans = await spansOf(rx, traceId, 2);
    const srv = spans.find((s) => s.kind === SERVER);
    assert.ok(srv, "server span exported");
    assert.equal(srv.parentSpanId, "");
    assert.ok(
      srv.events.some((e) => e.name === "gen_ai.first_token"),
      srv.events.map((e) => e.name).join(),
    );
    const first = srv.events.find((e) => e.name === "gen_ai.first_token") as { timeNs: bigint };
    assert.ok(first.timeNs >= srv.startNs && first.timeNs <= srv.endNs);
  });
});
