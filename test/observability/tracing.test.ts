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
import {
  assertJobTrace,
  CLIENT_SPAN,
  JOB_TRACESTATE,
  jobUnderTrace,
  retriedRequestTrace,
  retryModels,
  spansOf,
  streamTrace,
} from "./trace-checks.js";

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PROMPT = "zebra-lantern-prompt-4711";
const ADMIN = "admin-key-for-tracing-tests-0123456789";
let SECRET = "";

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
      models: retryModels(sim.url),
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
    await rx?.close();
  });

  test("one request that retries once is one trace: a server span and two sibling client spans", async () => {
    const { srv } = await retriedRequestTrace(rx, {
      gwUrl: gw.url,
      simUrl: sim.url,
      requestId: "trace-retry-1",
      traceId: CLIENT_TRACE,
      tracestate: "vendor=abc",
      serviceName: "switchyard-test",
      headers: { authorization: `Bearer ${SECRET}` },
      content: PROMPT,
    });
    assert.ok(
      rx.contentTypes.every((t) => t === "application/x-protobuf"),
      rx.contentTypes.join(),
    );
    // With an API key, the server span has the authentication event, inside its time.
    const authEvent = srv.events.find((e) => e.name === "switchyard.authenticated");
    assert.ok(authEvent, srv.events.map((e) => e.name).join());
    assert.ok(authEvent.timeNs >= srv.startNs && authEvent.timeNs <= srv.endNs);

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
    await streamTrace(rx, gw.url, { "x-request-id": "trace-stream-1", authorization: `Bearer ${SECRET}` });
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
