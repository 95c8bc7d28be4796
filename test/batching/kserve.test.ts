/**
 * Batching of KServe v2 tensor requests: the batching front over a real gateway's router, a
 * `kserve-v2` endpoint and a `switchyard sim` serving its tensor classifier. Concurrent callers'
 * inputs are concatenated along the batch dimension; each gets the rows of its own inputs back.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { createGateway, type Gateway } from "../../src/app.js";
import { BatchingFront } from "../../src/batching/index.js";
import { parseConfig } from "../../src/config/load.js";
import { RequestContext } from "../../src/core/context.js";
import type { RouteRequest } from "../../src/core/types.js";
import { expectedScores } from "../backends/_helpers.js";
import { type Running, startSim } from "../helpers/proc.js";

const DIM = 16;
const CLASSES = 4;

interface Output {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

let sim: Running;
let gw: Gateway;
const flushes: number[] = [];
let front: BatchingFront;

before(async () => {
  sim = await startSim(["--model", "clf:classifier"]);
  const endpoint = { kind: "kserve-v2", url: sim.url, model: "clf" };
  gw = await createGateway(
    parseConfig({
      logging: { level: "silent" },
      models: {
        clf: {
          type: "kserve",
          endpoints: [endpoint],
          batching: { maxBatchSize: 32, maxQueueDelayUs: 20_000 },
        },
        "clf-plain": { type: "kserve", endpoints: [endpoint] },
      },
    }),
  );
  front = new BatchingFront({ router: gw.router, observer: { batch: (_m, items) => flushes.push(items) } });
});

after(async () => {
  await gw?.close(1000);
  await sim?.stop();
});

function inferRequest(model: string, rows: number[][], id: string): RouteRequest {
  return {
    op: "infer",
    model,
    body: {
      id,
      model,
      inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, DIM], data: rows.flat() }],
    },
    stream: false,
    clientWantsStreamUsage: false,
  };
}

async function infer(model: string, rows: number[][], id: string): Promise<Record<string, unknown>> {
  const ctx = new RequestContext({});
  ctx.setDeadline(10_000);
  try {
    const result = await front.execute(inferRequest(model, rows, id), ctx);
    assert.equal(result.kind, "json");
    return JSON.parse(String(result.kind === "json" ? result.payload : "")) as Record<string, unknown>;
  } finally {
    ctx.finish();
  }
}

const row = fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: DIM, maxLength: DIM });

describe("batched KServe v2 tensor requests", () => {
  test("concurrent callers each get the rows of their own inputs, with their own id", async () => {
    const before = flushes.length;
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(row, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 10 }),
        async (callers) => {
          sent += callers.length;
          const answers = await Promise.all(callers.map((rows, i) => infer("clf", rows, `caller-${i}`)));
          callers.forEach((rows, i) => {
            const a = answers[i] as Record<string, unknown>;
            assert.equal(a.id, `caller-${i}`);
            assert.equal(a.model_name, "clf");
            const outputs = a.outputs as Output[];
            const want = expectedScores(rows, CLASSES);
            const scores = outputs.find((o) => o.name === "scores");
            const label = outputs.find((o) => o.name === "label");
            assert.deepEqual(scores?.shape, [rows.length, CLASSES]);
            assert.deepEqual(scores?.data, want.scores);
            assert.deepEqual(label?.shape, [rows.length]);
            assert.deepEqual(label?.data, want.labels);
          });
        },
      ),
      { numRuns: 15 },
    );
    const batches = flushes.slice(before);
    assert.ok(batches.length < sent, `${batches.length} batches for ${sent} requests`);
    assert.ok(
      batches.some((items) => items > 3),
      "some batch merged several callers",
    );
  });

  test("POST /v2/models/{name}/infer batches concurrent HTTP callers and reports the batches on /metrics", async () => {
    const port = await gw.listen(0, "127.0.0.1");
    const base = `http://127.0.0.1:${port}`;
    const callers = Array.from({ length: 12 }, (_, i) => [
      Array.from({ length: DIM }, (_, d) => (i * 7 + d * 3) % 50),
    ]);
    const answers = await Promise.all(
      callers.map(async (rows, i) => {
        const res = await fetch(`${base}/v2/models/clf/infer`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: `http-${i}`,
            inputs: [{ name: "input", datatype: "FP32", shape: [1, DIM], data: rows.flat() }],
          }),
        });
        assert.equal(res.status, 200);
        return (await res.json()) as { id: string; outputs: Output[] };
      }),
    );
    callers.forEach((rows, i) => {
      const a = answers[i]!;
      assert.equal(a.id, `http-${i}`);
      assert.deepEqual(
        a.outputs.find((o) => o.name === "scores")?.data,
        expectedScores(rows, CLASSES).scores,
      );
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const batches = Number(/^switchyard_batches_total\{[^}]*model="clf"[^}]*\} (\d+)/m.exec(metrics)?.[1]);
    const items = Number(/^switchyard_batch_size_sum\{[^}]*model="clf"[^}]*\} (\d+)/m.exec(metrics)?.[1]);
    assert.ok(batches >= 1 && items >= 12, `batches ${batches}, items ${items}`);
    assert.ok(batches < 12, `12 concurrent callers went out in ${batches} batches: none were merged`);
  });

  test("requests whose tensors differ in data type are never merged", async () => {
    const before = flushes.length;
    const rows = [Array.from({ length: DIM }, (_, d) => d)];
    const asInt = inferRequest("clf", rows, "int");
    asInt.body.inputs = [{ name: "input", datatype: "INT32", shape: [1, DIM], data: rows.flat() }];
    const ctxs = [new RequestContext({}), new RequestContext({})];
    const results = await Promise.all(
      [inferRequest("clf", rows, "float"), asInt].map((r, i) => front.execute(r, ctxs[i] as RequestContext)),
    );
    for (const c of ctxs) c.finish();
    assert.equal(results.length, 2);
    assert.deepEqual(flushes.slice(before), [1, 1]);
  });
});
