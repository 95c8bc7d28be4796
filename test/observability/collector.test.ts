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
import { type Running, startGateway, startSim } from "../helpers/proc.js";
import { type Collector, collectorSkip, startCollector } from "./collector.js";
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

const TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

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
      models: retryModels(sim.url),
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
    await col?.stop();
  });

  test("a request that retries once: one server span, two sibling client spans, the upstream's traceparents in the trace", async () => {
    await retriedRequestTrace(col, {
      gwUrl: gw.url,
      simUrl: sim.url,
      requestId: "collector-retry-1",
      traceId: "8bf92f3577b34da6a3ce929d0e0e4721",
      tracestate: TRACESTATE,
      serviceName: "switchyard-collector-test",
    });
    // What the test read is the collector's own export, not the gateway's bytes.
    assert.ok(
      col.contentTypes.length > 0 && col.contentTypes.every((t) => t === "application/json"),
      col.contentTypes.join(),
    );
  });

  test("a stream: the server span carries the first-token event inside its time", async () => {
    await streamTrace(col, gw.url, { "x-request-id": "collector-stream-1" });
  });

  test("a job: submit span → run span (consumer) → attempt span, with the submitter's tracestate upstream", async () => {
    const trace = "9bf92f3577b34da6a3ce929d0e0e4722";
    const id = await jobUnderTrace(gw.url, `00-${trace}-${CLIENT_SPAN}-01`, { tracestate: JOB_TRACESTATE });
    await assertJobTrace(await spansOf(col, trace, 3), id, sim.url);
  });
});
