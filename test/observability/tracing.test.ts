import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import {
  createKey,
  type Running,
  startCli,
  startGateway,
  startSim,
  writeTempConfig,
} from "../helpers/proc.js";
import { type DecodedSpan, decodeTraces, type Receiver, startReceiver } from "./otlp.js";

const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;
const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const PROMPT = "zebra-lantern-prompt-4711";
const ADMIN = "admin-key-for-tracing-tests-0123456789";
let SECRET = "";

async function spansOf(rx: Receiver, traceId: string, count: number): Promise<DecodedSpan[]> {
  const until = Date.now() + 15_000;
  for (;;) {
    const found = rx.spans.filter((s) => s.traceId === traceId);
    if (found.length >= count || Date.now() > until) return found;
    await sleep(100);
  }
}

/** A small chat request; answers the status and the `traceparent` the gateway answered with. */
async function chatHi(gwUrl: string, headers: Record<string, string>) {
  const res = await request(`${gwUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
  });
  await res.body.text();
  return { status: res.statusCode, traceparent: String(res.headers.traceparent) };
}

describe("traces exported over OTLP/HTTP protobuf", () => {
  let sim: Running;
  let gw: Running;
  let rx: Receiver;

  before(async () => {
    rx = await startReceiver();
    sim = await startSim(["--model", "sim-small:instant"]);
    const db = join(mkdtempSync(join(tmpdir(), "switchyard-tracing-")), "keys.db");
    SECRET = createKey(db, "tracing", ["sim-small"]);
    gw = await startGateway({
      logging: { level: "info" },
      auth: { mode: "keys", adminKey: ADMIN },
      store: { path: db },
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
    const authEvent = srv.events.find((e) => e.name === "switchyard.authenticated");
    assert.ok(authEvent, srv.events.map((e) => e.name).join());
    assert.ok(authEvent.timeNs >= srv.startNs && authEvent.timeNs <= srv.endNs);

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
    const seen = (await rec.body.json()) as {
      history: Array<{ traceparent: string | null; tracestate: string | null }>;
    };
    assert.deepEqual(
      seen.history.map((h) => h.traceparent),
      [`00-${CLIENT_TRACE}-${first.spanId}-01`, `00-${CLIENT_TRACE}-${second.spanId}-01`],
    );
    // The client's tracestate goes along with every attempt, and is on every span of the trace.
    assert.deepEqual(
      seen.history.map((h) => h.tracestate),
      ["vendor=abc", "vendor=abc"],
    );
    for (const a of attempts) assert.equal(a.traceState, "vendor=abc");

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
      headers: {
        "content-type": "application/json",
        "x-request-id": "trace-stream-1",
        authorization: `Bearer ${SECRET}`,
      },
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

  test("a client's unsampled traceparent is followed: nothing exported, the flag passed on", async () => {
    const trace = "5bf92f3577b34da6a3ce929d0e0e4799";
    const res = await chatHi(gw.url, {
      "x-request-id": "trace-unsampled-1",
      traceparent: `00-${trace}-${CLIENT_SPAN}-00`,
      authorization: `Bearer ${SECRET}`,
    });
    assert.equal(res.status, 200);
    assert.match(res.traceparent, new RegExp(`^00-${trace}-[0-9a-f]{16}-00$`));
    const rec = await request(`${sim.url}/sim/requests/trace-unsampled-1`);
    const seen = (await rec.body.json()) as { history: Array<{ traceparent: string | null }> };
    assert.match(String(seen.history[0]?.traceparent), new RegExp(`^00-${trace}-[0-9a-f]{16}-00$`));
    // A sampled request sent after it is exported; the unsampled one never is.
    const after = await chatHi(gw.url, { authorization: `Bearer ${SECRET}` });
    await spansOf(rx, after.traceparent.split("-")[1] as string, 2);
    assert.equal(rx.spans.filter((s) => s.traceId === trace).length, 0);
  });
});

/** Submits a chat job under `traceparent` and waits until it is SUCCESS; answers the job id. */
async function jobUnderTrace(gwUrl: string, traceparent: string, headers: Record<string, string> = {}) {
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

const JOB_TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

/**
 * The submit's server span, the run's consumer span under it, and the attempt under the run; the
 * submitter's tracestate rode the queue: it is on the run's spans and went upstream with the attempt.
 */
async function assertJobTrace(spans: DecodedSpan[], jobId: string, simUrl: string): Promise<void> {
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
  const rec = await request(`${simUrl}/sim/requests/${jobId}`);
  const seen = (await rec.body.json()) as {
    history: Array<{ traceparent: string | null; tracestate: string | null }>;
  };
  assert.deepEqual(seen.history, [
    {
      ...seen.history[0],
      traceparent: `00-${run.traceId}-${attempt.spanId}-01`,
      tracestate: JOB_TRACESTATE,
    },
  ]);
}

describe("a job's trace across the queue", () => {
  let sim: Running;
  let gw: Running;
  let worker: Running | undefined;
  let rx: Receiver;
  let db: string;

  before(async () => {
    rx = await startReceiver();
    sim = await startSim(["--model", "sim-small:instant"]);
    db = join(mkdtempSync(join(tmpdir(), "switchyard-job-trace-")), "jobs.db");
  });
  after(async () => {
    await worker?.stop();
    await gw?.stop();
    await sim?.stop();
    await rx?.close();
  });

  const config = (workers: number) => ({
    logging: { level: "warn" },
    store: { path: db },
    jobs: { workers },
    observability: { tracing: { endpoint: rx.url, scheduledDelayMs: 50 } },
    models: { "sim-small": { endpoints: [{ kind: "openai", url: `${sim.url}/v1` }] } },
  });

  test("embedded workers: submit span → run span (consumer) → attempt span, one trace", async () => {
    gw = await startGateway(config(2));
    const trace = "6bf92f3577b34da6a3ce929d0e0e4711";
    const id = await jobUnderTrace(gw.url, `00-${trace}-${CLIENT_SPAN}-01`, { tracestate: JOB_TRACESTATE });
    await assertJobTrace(await spansOf(rx, trace, 3), id, sim.url);
    await gw.stop();
  });

  test("a standalone `switchyard worker` exports the run's spans into the submitter's trace", async () => {
    gw = await startGateway(config(0));
    const workerConfig = {
      ...config(2),
      observability: { ...config(2).observability, metrics: { port: 0 } },
    };
    worker = await startCli(
      ["worker", "--config", writeTempConfig(workerConfig)],
      "switchyard worker started",
    );
    const trace = "7bf92f3577b34da6a3ce929d0e0e4712";
    const id = await jobUnderTrace(gw.url, `00-${trace}-${CLIENT_SPAN}-01`, { tracestate: JOB_TRACESTATE });
    await assertJobTrace(await spansOf(rx, trace, 3), id, sim.url);
    // Its metrics listener counts the run's upstream attempt.
    const ready = worker.lines.find((l) => l.msg === "switchyard worker started");
    const metricsPort = ready?.metricsPort;
    assert.equal(typeof metricsPort, "number", JSON.stringify(ready));
    const text = await (await request(`http://127.0.0.1:${metricsPort}/metrics`)).body.text();
    assert.match(
      text,
      /^switchyard_upstream_attempt_duration_seconds_count\{model="sim-small",[^}]*outcome="success"\} 1$/m,
    );
  });
});

describe("span export when the collector fails", () => {
  let sim: Running;
  let gw: Running;
  let collector: ReturnType<typeof createServer>;
  const answers: number[] = [];
  const received: DecodedSpan[] = [];
  let mode: "flaky" | "down" = "flaky";

  before(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        // flaky: every other export is refused with 503 (retryable), then taken.
        const refuse = mode === "down" || answers.length % 2 === 0;
        const status = refuse ? (mode === "down" ? 500 : 503) : 200;
        answers.push(status);
        if (!refuse) received.push(...decodeTraces(Buffer.concat(chunks)));
        res.writeHead(status, { "retry-after": "0" }).end();
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    const port = (collector.address() as { port: number }).port;
    sim = await startSim(["--model", "sim-small:instant"]);
    gw = await startGateway({
      logging: { level: "info" },
      observability: {
        tracing: {
          endpoint: `http://127.0.0.1:${port}/v1/traces`,
          scheduledDelayMs: 50,
          exportTimeoutMs: 3000,
        },
      },
      models: { "sim-small": { endpoints: [{ kind: "openai", url: `${sim.url}/v1` }] } },
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
    await new Promise<void>((r) => collector.close(() => r()));
  });

  const chat = async (id: string) => {
    const res = await chatHi(gw.url, { "x-request-id": id });
    assert.equal(res.status, 200);
    return res.traceparent.split("-")[1] as string;
  };
  const metric = async (outcome: string) => {
    const text = await (await request(`${gw.url}/metrics`)).body.text();
    const m = text.match(new RegExp(`^switchyard_trace_spans_total\\{outcome="${outcome}"\\} (\\d+)$`, "m"));
    return m ? Number(m[1]) : 0;
  };

  test("a 503 from the collector is retried: the spans arrive, counted as exported", async () => {
    const trace = await chat("export-retry-1");
    const until = Date.now() + 10_000;
    while (!received.some((s) => s.traceId === trace) && Date.now() < until) await sleep(50);
    assert.equal(received.filter((s) => s.traceId === trace).length, 2);
    assert.deepEqual(answers.slice(0, 2), [503, 200]);
    assert.ok((await metric("exported")) >= 2);
  });

  test("a collector that refuses: requests are answered, spans counted as failed, one warning per batch", async () => {
    mode = "down";
    const before = await metric("failed");
    await chat("export-down-1");
    const until = Date.now() + 10_000;
    // The request's two spans, and those of the GET /metrics requests made here.
    while ((await metric("failed")) < before + 2 && Date.now() < until) await sleep(100);
    assert.ok((await metric("failed")) >= before + 2);
    assert.ok(answers.includes(500));
    const logged = Date.now() + 5000;
    while (!gw.lines.some((l) => l.msg === "exporting spans failed") && Date.now() < logged) await sleep(50);
    const warn = gw.lines.find((l) => l.msg === "exporting spans failed");
    assert.ok(warn, "warning logged");
    assert.equal(warn.level, "warn");
    assert.match(String(warn.reason), /500/);
  });
});
