/**
 * Dynamic batching through a real gateway (in this process, listening on a port) in front of
 * built-in sims: concurrent callers get exactly their own vectors and usage, failures reach every
 * member, deadlines and disconnects are respected, and the batch metrics are served.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import { request } from "undici";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";

type Json = Record<string, unknown>;
interface Embedding {
  index: number;
  embedding: number[] | string;
}

const COSTS = { dimensions: 16, perCallMs: 2, perItemMs: 0.02 };
const sim = (extra: Json = {}) => ({ kind: "sim", sim: { type: "embedding", embedding: COSTS, ...extra } });
const NO_HEALTH_POLICING = { breaker: { enabled: false }, outlier: { enabled: false } };

const CONFIG = {
  logging: { level: "silent" },
  models: {
    "embed-batched": {
      type: "embedding",
      endpoints: [sim()],
      batching: { maxBatchSize: 16, maxQueueDelayUs: 5_000 },
    },
    "embed-plain": { type: "embedding", endpoints: [sim()] },
    "embed-slow-queue": {
      type: "embedding",
      endpoints: [sim()],
      batching: { maxBatchSize: 64, maxQueueDelayUs: 400_000, deadlineSlackMs: 100 },
    },
    "embed-failing": {
      type: "embedding",
      endpoints: [sim({ faults: { errorRate: 1, errorStatus: 500 } })],
      retry: { maxAttempts: 2, backoffBaseMs: 1, backoffMaxMs: 2 },
      ...NO_HEALTH_POLICING,
      batching: { maxBatchSize: 8, maxQueueDelayUs: 20_000 },
    },
  },
};

let gw: Gateway;
let base: string;

before(async () => {
  gw = await createGateway(parseConfig(CONFIG));
  base = `http://127.0.0.1:${await gw.listen(0, "127.0.0.1")}`;
});

after(async () => {
  await gw.close(1000);
});

async function embed(
  body: Json,
  opts: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<{ status: number; json: Json }> {
  const res = await request(`${base}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json", ...opts.headers },
    body: JSON.stringify(body),
    signal: opts.signal,
  });
  return { status: res.statusCode, json: (await res.body.json()) as Json };
}

async function metricsText(): Promise<string> {
  const res = await request(`${base}/metrics`);
  return res.body.text();
}

/** The value of one sample line, e.g. `switchyard_batches_total{model="m"}`; 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

const text = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" });
const inputArb = fc.oneof(
  text,
  fc.array(text, { minLength: 1, maxLength: 5 }),
  fc.array(fc.nat(50_000), { minLength: 1, maxLength: 8 }),
  fc.array(fc.array(fc.nat(50_000), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
);
const callerArb = fc.record({ input: inputArb, encoding_format: fc.constantFrom("float", "base64") });

describe("batched embeddings through the gateway", () => {
  test("N concurrent callers with random inputs each get exactly their own vectors, in order, with their usage", async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(callerArb, { minLength: 1, maxLength: 24 }), async (callers) => {
        const batched = await Promise.all(callers.map((c) => embed({ ...c, model: "embed-batched" })));
        sent += callers.length;
        const alone = await Promise.all(callers.map((c) => embed({ ...c, model: "embed-plain" })));
        callers.forEach((c, i) => {
          const got = batched[i] as { status: number; json: Json };
          const want = alone[i] as { status: number; json: Json };
          assert.equal(got.status, 200, JSON.stringify(got.json));
          assert.equal(want.status, 200, JSON.stringify(want.json));
          const items = typeof c.input === "string" || typeof c.input[0] === "number" ? 1 : c.input.length;
          const data = got.json.data as Embedding[];
          assert.equal(data.length, items);
          data.forEach((d, j) => {
            assert.equal(d.index, j);
          });
          assert.deepEqual(data, want.json.data);
          assert.deepEqual(got.json.usage, want.json.usage);
          assert.equal(got.json.object, "list");
        });
      }),
      { numRuns: 25 },
    );
    // The merging really happened: fewer upstream calls than requests, batches of more than one.
    const m = await metricsText();
    const batches = sample(m, 'switchyard_batches_total{model="embed-batched"}');
    const delays = sample(m, 'switchyard_batch_queue_delay_seconds_count{model="embed-batched"}');
    assert.equal(delays, sent, "one queue delay per request");
    assert.ok(batches > 0 && batches < sent, `${batches} batches for ${sent} requests`);
  });

  test("a batch whose upstream call fails gives every member the error; the retry is of the batch, once", async () => {
    const before = await metricsText();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => embed({ model: "embed-failing", input: [`text ${i}`] })),
    );
    for (const r of results) {
      assert.equal(r.status, 502);
      assert.equal((r.json.error as Json).code, "upstream_error");
    }
    const afterText = await metricsText();
    const batches =
      sample(afterText, 'switchyard_batches_total{model="embed-failing"}') -
      sample(before, 'switchyard_batches_total{model="embed-failing"}');
    assert.ok(batches >= 1 && batches < 6, `${batches} batches for 6 requests`);
    const attemptLines = afterText
      .split("\n")
      .filter(
        (l) =>
          l.startsWith("switchyard_upstream_attempt_duration_seconds_count") &&
          l.includes('model="embed-failing"'),
      );
    const attempts = attemptLines.reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    assert.equal(attempts, batches * 2, `attempts ${attempts} for ${batches} batches`);
  });

  test("an input the upstream refuses fails only its own request, not the batch's others", async () => {
    const inputs = ["good one", "", "good two", "good three"];
    const results = await Promise.all(inputs.map((input) => embed({ model: "embed-slow-queue", input })));
    results.forEach((r, i) => {
      if (inputs[i] === "") {
        assert.equal(r.status, 400);
        assert.equal((r.json.error as Json).code, "upstream_rejected");
      } else {
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal((r.json.data as Embedding[]).length, 1);
      }
    });
  });

  test("a request near its deadline is not held back for the queue delay", async () => {
    const t0 = performance.now();
    const r = await embed(
      { model: "embed-slow-queue", input: "in a hurry" },
      { headers: { "x-switchyard-timeout-ms": "250" } },
    );
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(ms < 300, `answered after ${ms} ms; the queue delay is 400 ms`);
    const t1 = performance.now();
    await embed({ model: "embed-slow-queue", input: "no hurry" });
    assert.ok(performance.now() - t1 >= 350, "without a near deadline the request waits for the delay");
  });

  test("a caller that disconnects while queued leaves the batch without hurting the others", async () => {
    const ac = new AbortController();
    const leaving = embed({ model: "embed-slow-queue", input: "leaving" }, { signal: ac.signal });
    const staying = ["one", "two"].map((input) => embed({ model: "embed-slow-queue", input }));
    await sleep(50);
    ac.abort();
    await assert.rejects(leaving);
    for (const r of await Promise.all(staying)) assert.equal(r.status, 200);
  });

  test("a request of maxBatchSize inputs or more is sent alone and answered whole", async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => `item ${i}`);
    const [big, plain] = await Promise.all([
      embed({ model: "embed-batched", input: inputs }),
      embed({ model: "embed-plain", input: inputs }),
    ]);
    assert.equal(big.status, 200);
    assert.deepEqual(big.json.data, plain.json.data);
    assert.deepEqual(big.json.usage, plain.json.usage);
  });

  test("/metrics serves the batch size and queue delay histograms and the batch counter per model", async () => {
    await Promise.all(["a", "b", "c"].map((input) => embed({ model: "embed-batched", input })));
    const m = await metricsText();
    for (const line of [
      "# TYPE switchyard_batch_size histogram",
      "# TYPE switchyard_batch_queue_delay_seconds histogram",
      "# TYPE switchyard_batches_total counter",
      'switchyard_batch_size_bucket{model="embed-batched",le="16"}',
      'switchyard_batch_size_bucket{model="embed-batched",le="+Inf"}',
      'switchyard_batch_queue_delay_seconds_bucket{model="embed-batched",le="0.005"}',
      'switchyard_batch_queue_delay_seconds_sum{model="embed-batched"}',
      'switchyard_batches_total{model="embed-batched"}',
    ]) {
      assert.ok(m.includes(line), `missing ${line}`);
    }
    assert.equal(m.includes('switchyard_batches_total{model="embed-plain"}'), false);
  });
});

describe("batching config", () => {
  test("chat models cannot batch, and preferred sizes must fit maxBatchSize", () => {
    const chat = { models: { c: { endpoints: [{ kind: "sim" }], batching: {} } } };
    assert.throws(() => parseConfig(chat), /batching is for embedding and kserve models/);
    const bad = {
      models: {
        e: {
          type: "embedding",
          endpoints: [sim()],
          batching: { maxBatchSize: 8, preferredBatchSizes: [4, 16] },
        },
      },
    };
    assert.throws(() => parseConfig(bad), /16 is above maxBatchSize/);
    const cfg = parseConfig({ models: { e: { type: "embedding", endpoints: [sim()], batching: {} } } });
    assert.deepEqual(cfg.models.e?.batching, {
      maxBatchSize: 32,
      maxQueueDelayUs: 2000,
      preferredBatchSizes: [],
      deadlineSlackMs: 100,
    });
  });
});
