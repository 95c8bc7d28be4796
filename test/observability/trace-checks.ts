/**
 * The trace scenarios both tracing test files check, whatever receives the spans (a decoder in the
 * test process, tracing.test.ts; a real OpenTelemetry Collector, collector.test.ts): a request that
 * retries once, and a job across the queue. Each sends its traffic, then asserts the trace's shape,
 * attributes and `tracestate`, and that the upstream sim received a `traceparent` of that trace.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import type { DecodedSpan } from "./otlp.js";

export const SERVER = 2;
export const CLIENT = 3;
export const CONSUMER = 5;
/** The span id of the client's `traceparent` in these tests. */
export const CLIENT_SPAN = "00f067aa0ba902b7";

/** Where spans arrive: the receiver's spans, and the bodies it could not decode. */
export interface SpanSource {
  spans: DecodedSpan[];
  errors: string[];
}

/**
 * The spans of one trace once `count` of them arrived (or what arrived within 15 s). An export the
 * receiver could not decode fails at once, with the decoder's error.
 */
export async function spansOf(rx: SpanSource, traceId: string, count: number): Promise<DecodedSpan[]> {
  const until = Date.now() + 15_000;
  for (;;) {
    assert.deepEqual(rx.errors, [], "exports the receiver could not decode");
    const found = rx.spans.filter((s) => s.traceId === traceId);
    if (found.length >= count || Date.now() > until) return found;
    await sleep(100);
  }
}

/** Trace headers of each attempt the sim received for request `id`. */
async function simSaw(simUrl: string, id: string) {
  const res = await request(`${simUrl}/sim/requests/${id}`);
  const body = (await res.body.json()) as {
    history: Array<{ traceparent: string | null; tracestate: string | null }>;
  };
  return body.history;
}

/** `sim-small` on one replica (the sim counts attempts per replica) with one retry. */
export function retryModels(simUrl: string) {
  return {
    "sim-small": {
      endpoints: [{ kind: "openai", url: `${simUrl}/v1`, id: "replica-a" }],
      retry: { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 1 },
    },
  };
}

export interface RetryCase {
  gwUrl: string;
  simUrl: string;
  requestId: string;
  traceId: string;
  tracestate: string;
  serviceName: string;
  /** Sent with the request (an API key). */
  headers?: Record<string, string>;
  content?: string;
}

/**
 * A chat request whose first attempt gets a 503 (`x-sim-fault: seq=503,200`) under the client's
 * trace: one server span continuing the client's, two sibling client spans under it, the first
 * failed. Returns the three spans for more checks.
 */
export async function retriedRequestTrace(
  rx: SpanSource,
  c: RetryCase,
): Promise<{ srv: DecodedSpan; first: DecodedSpan; second: DecodedSpan }> {
  const res = await request(`${c.gwUrl}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-request-id": c.requestId,
      "x-sim-fault": "seq=503,200",
      traceparent: `00-${c.traceId}-${CLIENT_SPAN}-01`,
      tracestate: c.tracestate,
      ...c.headers,
    },
    body: JSON.stringify({
      model: "sim-small",
      messages: [{ role: "user", content: c.content ?? "hi" }],
      max_tokens: 6,
    }),
  });
  const body = (await res.body.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
  assert.equal(res.statusCode, 200, JSON.stringify(body));

  const spans = await spansOf(rx, c.traceId, 3);
  const server = spans.filter((s) => s.kind === SERVER);
  const attempts = spans.filter((s) => s.kind === CLIENT).sort((a, b) => Number(a.startNs - b.startNs));
  assert.equal(server.length, 1, JSON.stringify(spans.map((s) => s.name)));
  assert.equal(attempts.length, 2, JSON.stringify(spans.map((s) => s.name)));
  const srv = server[0] as DecodedSpan;
  const [first, second] = attempts as [DecodedSpan, DecodedSpan];

  // The server span continues the client's trace and is the one the response names.
  assert.equal(srv.parentSpanId, CLIENT_SPAN);
  assert.equal(srv.traceState, c.tracestate);
  assert.equal(srv.name, "POST /v1/chat/completions");
  assert.equal(res.headers.traceparent, `00-${c.traceId}-${srv.spanId}-01`);
  assert.equal(srv.attributes["http.request.method"], "POST");
  assert.equal(srv.attributes["http.route"], "/v1/chat/completions");
  assert.equal(srv.attributes["http.response.status_code"], 200);
  assert.equal(srv.attributes["gen_ai.operation.name"], "chat");
  assert.equal(srv.attributes["gen_ai.request.model"], "sim-small");
  assert.equal(srv.attributes["gen_ai.usage.input_tokens"], body.usage.prompt_tokens);
  assert.equal(srv.attributes["gen_ai.usage.output_tokens"], body.usage.completion_tokens);
  assert.equal(srv.resource["service.name"], c.serviceName);
  assert.ok(srv.events.some((e) => e.name === "switchyard.admitted"));

  // Retries are siblings under the server span.
  for (const a of attempts) {
    assert.equal(a.parentSpanId, srv.spanId);
    assert.equal(a.traceState, c.tracestate);
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

  // Each upstream attempt carried a traceparent naming its own span, and the client's tracestate.
  assert.deepEqual(
    (await simSaw(c.simUrl, c.requestId)).map((h) => [h.traceparent, h.tracestate]),
    [
      [`00-${c.traceId}-${first.spanId}-01`, c.tracestate],
      [`00-${c.traceId}-${second.spanId}-01`, c.tracestate],
    ],
  );
  return { srv, first, second };
}

/**
 * A streamed chat request without a `traceparent`: a new trace whose server span has no parent and
 * carries the `gen_ai.first_token` event inside its time. Returns the server span.
 */
export async function streamTrace(
  rx: SpanSource,
  gwUrl: string,
  headers: Record<string, string> = {},
): Promise<DecodedSpan> {
  const res = await request(`${gwUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "hi" }], stream: true }),
  });
  assert.match(await res.body.text(), /data: \[DONE\]/);
  const traceId = String(res.headers.traceparent).split("-")[1] as string;
  const spans = await spansOf(rx, traceId, 2);
  const srv = spans.find((s) => s.kind === SERVER);
  assert.ok(srv, `server span exported: ${spans.map((s) => s.name).join()}`);
  assert.equal(srv.parentSpanId, "");
  const first = srv.events.find((e) => e.name === "gen_ai.first_token");
  assert.ok(first, srv.events.map((e) => e.name).join());
  assert.ok(first.timeNs >= srv.startNs && first.timeNs <= srv.endNs);
  return srv;
}

/** Submits a chat job under `traceparent` and waits until it is SUCCESS; answers the job id. */
export async function jobUnderTrace(
  gwUrl: string,
  traceparent: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await request(`${gwUrl}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent, ...headers },
    body: JSON.stringify({
      type: "chat.completion",
      request: { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
    }),
  });
  const job = (await res.body.json()) as { id: string };
  assert.equal(res.statusCode, 202, JSON.stringify(job));
  const until = Date.now() + 15_000;
  for (;;) {
    const got = (await (await request(`${gwUrl}/v1/jobs/${job.id}`, { headers })).body.json()) as {
      status: string;
    };
    if (got.status === "SUCCESS") return job.id;
    assert.ok(Date.now() < until, `job still ${got.status}`);
    await sleep(50);
  }
}

export const JOB_TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

/**
 * The submit's server span, the run's consumer span under it, and the attempt under the run; the
 * submitter's tracestate rode the queue: it is on the run's spans and went upstream with the attempt.
 */
export async function assertJobTrace(spans: DecodedSpan[], jobId: string, simUrl: string): Promise<void> {
  const submit = spans.find((s) => s.kind === SERVER && s.name === "POST /v1/jobs");
  assert.ok(submit, spans.map((s) => s.name).join());
  assert.equal(submit.parentSpanId, CLIENT_SPAN);
  const run = spans.find((s) => s.kind === CONSUMER);
  assert.ok(run, "the run has a consumer span");
  assert.equal(run.name, "job chat.completion");
  assert.equal(run.parentSpanId, submit.spanId);
  assert.equal(run.attributes["switchyard.job_id"], jobId);
  assert.equal(run.attributes["switchyard.job.type"], "chat.completion");
  assert.equal(run.attributes["switchyard.job.attempt"], 1);
  assert.equal(run.statusCode, 0);
  const attempt = spans.find((s) => s.kind === CLIENT);
  assert.ok(attempt, "the run's upstream attempt has a span");
  assert.equal(attempt.parentSpanId, run.spanId);
  assert.ok(attempt.startNs >= run.startNs && attempt.endNs <= run.endNs);
  assert.equal(run.traceState, JOB_TRACESTATE);
  assert.equal(attempt.traceState, JOB_TRACESTATE);
  assert.deepEqual(
    (await simSaw(simUrl, jobId)).map((h) => [h.traceparent, h.tracestate]),
    [[`00-${run.traceId}-${attempt.spanId}-01`, JOB_TRACESTATE]],
  );
}
