import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import { request } from "undici";
import { createGateway } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";
import { FastHistogram } from "../../src/observability/histogram.js";
import { createLogging } from "../../src/observability/logger.js";

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

const simModel = { m: { endpoints: [{ kind: "sim", sim: { preset: "instant" } }] } };

describe("observability units", () => {
  test("FastHistogram exposes cumulative buckets, sum and count", async () => {
    const reg = new Registry();
    const h = new FastHistogram(reg, "t_seconds", "test", ["model"], [0.1, 1]);
    const s = h.labels("a");
    s.observe(0.05);
    s.observe(0.5);
    s.observe(5);
    const text = await reg.metrics();
    assert.match(text, /t_seconds_bucket\{model="a",le="0.1"\} 1/);
    assert.match(text, /t_seconds_bucket\{model="a",le="1"\} 2/);
    assert.match(text, /t_seconds_bucket\{model="a",le="\+Inf"\} 3/);
    assert.match(text, /t_seconds_sum\{model="a"\} 5.55/);
    assert.match(text, /t_seconds_count\{model="a"\} 3/);
  });

  test("logs redact credentials and prompt text unless logPrompts is set", () => {
    const fields = {
      headers: { authorization: "Bearer sk-1" },
      apiKey: "sk-2",
      messages: [{ content: "hello" }],
    };
    const a = capture();
    createLogging({ level: "info", destination: a.stream }).logger.info(fields, "x");
    assert.ok(!a.lines.join().includes("sk-1") && !a.lines.join().includes("sk-2"));
    assert.ok(!a.lines.join().includes("hello"));
    const b = capture();
    createLogging({ level: "info", logPrompts: true, destination: b.stream }).logger.info(fields, "x");
    assert.ok(!b.lines.join().includes("sk-1") && !b.lines.join().includes("sk-2"));
    assert.ok(b.lines.join().includes("hello"));
  });

  test("two gateways in one process keep separate registries; a metrics port of its own", async () => {
    const a = await createGateway(parseConfig({ logging: { level: "silent" }, models: simModel }));
    const b = await createGateway(
      parseConfig({
        logging: { level: "silent" },
        observability: { metrics: { port: 0 } },
        models: simModel,
      }),
    );
    try {
      const pa = await a.listen(0, "127.0.0.1");
      const pb = await b.listen(0, "127.0.0.1");
      const res = await request(`http://127.0.0.1:${pa}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }], max_tokens: 2 }),
      });
      await res.body.dump();
      const ma = await (await request(`http://127.0.0.1:${pa}/metrics`)).body.text();
      assert.match(
        ma,
        /switchyard_requests_total\{model="m",route="\/v1\/chat\/completions",status_class="2xx",code=""\} 1/,
      );
      // b serves its metrics on its own port only, and saw no request.
      const onMain = await request(`http://127.0.0.1:${pb}/metrics`);
      await onMain.body.dump();
      assert.equal(onMain.statusCode, 404);
      assert.ok(b.observability.metricsPort);
      const mb = await (await request(`http://127.0.0.1:${b.observability.metricsPort}/metrics`)).body.text();
      assert.match(mb, /# TYPE switchyard_requests_total counter/);
      assert.doesNotMatch(mb, /switchyard_requests_total\{model="m"/);
      assert.equal(a.observability.tracing, false);
    } finally {
      await a.close(100);
      await b.close(100);
    }
  });

  test("metrics can be switched off", async () => {
    const gw = await createGateway(
      parseConfig({
        logging: { level: "silent" },
        observability: { metrics: { enabled: false } },
        models: simModel,
      }),
    );
    try {
      const port = await gw.listen(0, "127.0.0.1");
      const res = await request(`http://127.0.0.1:${port}/metrics`);
      await res.body.dump();
      assert.equal(res.statusCode, 404);
      assert.equal(gw.observability.metrics, undefined);
    } finally {
      await gw.close(100);
    }
  });
});
