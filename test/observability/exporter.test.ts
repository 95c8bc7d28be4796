/**
 * The OTLP exporter against a real HTTP collector on loopback: batches, the bounded queue, retries
 * and a shutdown that a dead collector cannot hold.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, describe, test } from "node:test";
import { type EndedSpan, OtlpExporter, spanFlags } from "../../src/observability/otlp.js";
import { decodeTraces } from "./otlp.js";

interface Collector {
  url: string;
  batches: string[][];
  close(): Promise<void>;
}

/** `answer(n)` for the n-th export (from 0); null: read and never answered (a collector that hangs). */
async function collector(answer: (n: number) => number | null): Promise<Collector> {
  const batches: string[][] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = answer(calls++);
      if (status === null) return;
      if (status === 200) batches.push(decodeTraces(Buffer.concat(chunks)).map((s) => s.name));
      res.writeHead(status, { "retry-after": "0" }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    batches,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const span = (name: string): EndedSpan => {
  const now = performance.timeOrigin + performance.now();
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    parentSpanId: undefined,
    traceState: undefined,
    name,
    kind: 2,
    startMs: now,
    endMs: now + 1,
    attributes: {},
    events: undefined,
    statusCode: 0,
    statusMessage: undefined,
    flags: spanFlags(true, false),
  };
};

function exporter(url: string, opts: Partial<ConstructorParameters<typeof OtlpExporter>[0]> = {}) {
  const counts = { exported: 0, dropped: 0, failed: 0 };
  const failures: string[] = [];
  const e = new OtlpExporter({
    url,
    headers: { "x-test": "1" },
    resource: { "service.name": "t" },
    scope: { name: "switchyard", version: "0" },
    maxQueueSize: 100,
    maxExportBatchSize: 3,
    scheduledDelayMs: 60_000,
    exportTimeoutMs: 5_000,
    onSpans: (o, n) => {
      counts[o] += n;
    },
    onFailure: (reason) => failures.push(reason),
    ...opts,
  });
  return { e, counts, failures };
}

describe("OTLP exporter", () => {
  const open: Collector[] = [];
  after(async () => {
    for (const c of open) await c.close();
  });

  test("a batch leaves at maxExportBatchSize; flush sends the rest; every span arrives once, in order", async () => {
    const c = await collector(() => 200);
    open.push(c);
    const { e, counts } = exporter(c.url);
    for (let i = 0; i < 7; i++) e.add(span(`s${i}`));
    await e.flush();
    assert.deepEqual(c.batches, [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6"]]);
    assert.deepEqual(counts, { exported: 7, dropped: 0, failed: 0 });
  });

  test("beyond maxQueueSize new spans are dropped and counted; the queue takes spans again once sent", async () => {
    let release = false;
    const c = await collector(() => (release ? 200 : null));
    open.push(c);
    const { e, counts } = exporter(c.url, { maxQueueSize: 4, maxExportBatchSize: 2, exportTimeoutMs: 2_000 });
    for (let i = 0; i < 10; i++) e.add(span(`s${i}`));
    assert.equal(counts.dropped, 6);
    assert.equal(e.droppedSpans, 6);
    release = true;
    await e.flush(); // the first export timed out (never answered): failed; the second went through
    assert.equal(counts.failed + counts.exported, 4);
    e.add(span("later"));
    await e.flush();
    assert.equal(c.batches.at(-1)?.[0], "later");
  });

  test("a 503 is retried and then taken; a 400 fails the batch at once", async () => {
    const c = await collector((n) => (n === 0 ? 503 : 200));
    open.push(c);
    let calls = 0;
    const seen = await collector(() => {
      calls++;
      return 400;
    });
    open.push(seen);
    const ok = exporter(c.url);
    ok.e.add(span("retried"));
    await ok.e.flush();
    assert.deepEqual(ok.counts, { exported: 1, dropped: 0, failed: 0 });
    const bad = exporter(seen.url);
    bad.e.add(span("refused"));
    await bad.e.flush();
    assert.equal(calls, 1, "a 400 is not retried");
    assert.deepEqual(bad.counts, { exported: 0, dropped: 0, failed: 1 });
    assert.match(bad.failures[0] ?? "", /400/);
  });

  test("a span the encoder cannot write is dropped alone: the batch around it stays whole", async () => {
    const c = await collector(() => 200);
    open.push(c);
    const { e, counts } = exporter(c.url);
    e.add(span("before"));
    const bad = { ...span("bad"), attributes: { ok: "x", odd: {} as unknown as string } };
    assert.doesNotThrow(() => e.add(bad));
    e.add(span("after"));
    await e.flush();
    assert.deepEqual(c.batches, [["before", "after"]]);
    assert.deepEqual(counts, { exported: 2, dropped: 1, failed: 0 });
  });

  test("shutdown with a collector that never answers ends within one exportTimeoutMs", async () => {
    const c = await collector(() => null);
    open.push(c);
    const { e, counts } = exporter(c.url, { maxExportBatchSize: 1, exportTimeoutMs: 500 });
    for (let i = 0; i < 8; i++) e.add(span(`s${i}`));
    const t0 = performance.now();
    await e.shutdown();
    const took = performance.now() - t0;
    // Eight batches of one span, each given its own 500 ms, would take 4 s.
    assert.ok(took < 2_000, `shutdown took ${took.toFixed(0)} ms`);
    assert.equal(counts.failed, 8);
    e.add(span("after"));
    assert.equal(counts.dropped, 1, "spans that end after shutdown are dropped");
  });
});
