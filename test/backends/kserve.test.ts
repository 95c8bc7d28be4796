import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { call, type Json } from "../helpers/http.js";
import { type Running, startGateway } from "../helpers/proc.js";
import { expectedScores, type GrpcSim, startGrpcSim, textRow } from "./_helpers.js";

// gateway → kserve-v2 (HTTP, gRPC typed, gRPC raw) → `switchyard sim` serving a tensor classifier.

const DIM = 16;
const CLASSES = 4;
const rows = [
  Array.from({ length: DIM }, (_, d) => d + 1),
  Array.from({ length: DIM }, (_, d) => (d === 6 ? 0.1 : -d / 7)),
  Array.from({ length: DIM }, (_, d) => Math.sin(d) * 3.3),
];
const fp32Body = (extra: Json = {}) => ({
  id: "req-1",
  inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, DIM], data: rows }],
  ...extra,
});

const ENDPOINTS = ["clf-http", "clf-grpc-typed", "clf-grpc-raw"] as const;

describe("kserve-v2 backend through the gateway", () => {
  let sim: GrpcSim;
  let gw: Running;
  before(async () => {
    sim = await startGrpcSim(["clf:classifier", "chat:instant"]);
    const grpcEp = (tensorEncoding: string) => ({
      kind: "kserve-v2",
      protocol: "grpc",
      target: sim.grpcTarget,
      model: "clf",
      tensorEncoding,
    });
    gw = await startGateway({
      logging: { level: "warn" },
      models: {
        "clf-http": { type: "kserve", endpoints: [{ kind: "kserve-v2", url: sim.url, model: "clf" }] },
        "clf-grpc-typed": { type: "kserve", endpoints: [grpcEp("typed")] },
        "clf-grpc-raw": { type: "kserve", endpoints: [grpcEp("raw")] },
        chat: { endpoints: [{ kind: "openai", url: `${sim.url}/v1` }] },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  for (const model of ENDPOINTS) {
    test(`${model}: FP32 [batch, dim] gives the classifier's scores and labels`, async () => {
      const { status, json } = await call(gw.url, `/v2/models/${model}/infer`, { body: fp32Body() });
      assert.equal(status, 200, JSON.stringify(json));
      const want = expectedScores(rows, CLASSES);
      const outputs = json.outputs as Array<{
        name: string;
        datatype: string;
        shape: number[];
        data: number[];
      }>;
      assert.equal(json.id, "req-1");
      assert.equal(json.model_name, "clf");
      const scores = outputs.find((o) => o.name === "scores");
      const label = outputs.find((o) => o.name === "label");
      assert.deepEqual(scores?.shape, [rows.length, CLASSES]);
      assert.equal(scores?.datatype, "FP32");
      assert.deepEqual(scores?.data, want.scores);
      assert.deepEqual(label, { name: "label", datatype: "INT64", shape: [rows.length], data: want.labels });
    });

    test(`${model}: BYTES input and a chosen output`, async () => {
      const texts = ["hello", "a longer sentence of text", "ünïcode"];
      const { status, json } = await call(gw.url, `/v2/models/${model}/infer`, {
        body: {
          inputs: [{ name: "input", datatype: "BYTES", shape: [texts.length], data: texts }],
          outputs: [{ name: "scores" }],
        },
      });
      assert.equal(status, 200, JSON.stringify(json));
      const outputs = json.outputs as Array<{ name: string; data: number[] }>;
      assert.deepEqual(
        outputs.map((o) => o.name),
        ["scores"],
      );
      assert.deepEqual(
        outputs[0]?.data,
        expectedScores(
          texts.map((t) => textRow(t, DIM)),
          CLASSES,
        ).scores,
      );
    });
  }

  test("a body that does not add up is a 400 in the gateway's error shape, naming the field", async () => {
    const { status, json, headers } = await call(gw.url, "/v2/models/clf-grpc-raw/infer", {
      body: { inputs: [{ name: "input", datatype: "FP32", shape: [2, DIM], data: [1, 2, 3] }] },
    });
    assert.equal(status, 400);
    assert.equal(headers["x-switchyard-error-code"], "invalid_request");
    const err = json.error as Json;
    assert.equal(err.code, "invalid_request");
    assert.equal(err.param, "inputs[0].data");
    assert.match(String(err.message), /needs 32 elements, got 3/);
    assert.equal(typeof err.trace_id, "string");
  });

  test("unknown models are 404, chat models are the wrong type, and chat routes refuse tensor models", async () => {
    const unknown = await call(gw.url, "/v2/models/nope/infer", { body: fp32Body() });
    assert.equal(unknown.status, 404);
    assert.equal((unknown.json.error as Json).code, "model_not_found");
    const wrong = await call(gw.url, "/v2/models/chat/infer", { body: fp32Body() });
    assert.equal(wrong.status, 400);
    assert.equal((wrong.json.error as Json).code, "model_wrong_type");
    const chat = await call(gw.url, "/v1/chat/completions", {
      body: { model: "clf-http", messages: [{ role: "user", content: "hi" }] },
    });
    assert.equal(chat.status, 400);
    assert.equal((chat.json.error as Json).code, "model_wrong_type");
  });

  test("an upstream refusal passes back as upstream_rejected with the upstream's message", async () => {
    for (const model of ENDPOINTS) {
      const { status, json } = await call(gw.url, `/v2/models/${model}/infer`, {
        body: { inputs: [{ name: "other", datatype: "FP32", shape: [1, DIM], data: rows[0] }] },
      });
      assert.equal(status, 400, model);
      assert.equal((json.error as Json).code, "upstream_rejected", model);
      assert.match(String((json.error as Json).message), /expects an input named 'input'/, model);
    }
  });

  test("metadata and readiness come from the pool, under the public name", async () => {
    for (const model of ENDPOINTS) {
      const meta = await call(gw.url, `/v2/models/${model}`);
      assert.equal(meta.status, 200, meta.text);
      assert.equal(meta.json.name, model);
      assert.deepEqual(meta.json.inputs, [{ name: "input", datatype: "FP32", shape: [-1, DIM] }]);
      const ready = await call(gw.url, `/v2/models/${model}/ready`);
      assert.deepEqual([ready.status, ready.json.ready], [200, true]);
    }
    const live = await call(gw.url, "/v2/health/live");
    assert.equal(live.status, 200);
  });

  test("the request's deadline cancels the upstream gRPC call and the HTTP request", async () => {
    for (const model of ["clf-grpc-raw", "clf-http"]) {
      const id = `deadline-${model}`;
      const t0 = Date.now();
      const { status, json } = await call(gw.url, `/v2/models/${model}/infer`, {
        body: fp32Body(),
        headers: { "x-sim-fault": "hang", "x-switchyard-timeout-ms": "300", "x-request-id": id },
      });
      assert.equal(status, 504, model);
      assert.equal((json.error as Json).code, "deadline_exceeded");
      assert.ok(Date.now() - t0 < 3_000);
      // The sim saw the call end because the gateway cancelled it, not because it answered.
      let rec: Json = {};
      for (let i = 0; i < 40 && rec.aborted !== true; i++) {
        rec = (await call(sim.url, `/sim/requests/${id}`)).json;
        if (rec.aborted !== true) await sleep(50);
      }
      assert.equal(rec.aborted, true, `${model}: ${JSON.stringify(rec)}`);
      assert.equal(rec.completed, false);
    }
  });
});

describe("kserve-v2 config", () => {
  test("a kserve model takes kserve-v2 endpoints only, and kserve-v2 endpoints serve kserve models only", async () => {
    const { configSchema } = await import("../../src/config/schema.js");
    const bad1 = configSchema.safeParse({
      models: { t: { type: "kserve", endpoints: [{ kind: "openai", url: "http://127.0.0.1:1/v1" }] } },
    });
    assert.equal(bad1.success, false);
    const bad2 = configSchema.safeParse({
      models: { c: { endpoints: [{ kind: "kserve-v2", url: "http://127.0.0.1:1" }] } },
    });
    assert.equal(bad2.success, false);
    const bad3 = configSchema.safeParse({
      models: { t: { type: "kserve", endpoints: [{ kind: "kserve-v2", protocol: "grpc" }] } },
    });
    assert.equal(bad3.success, false);
    assert.match(JSON.stringify(bad3.error?.issues), /needs target/);
    const good = configSchema.safeParse({
      models: {
        t: { type: "kserve", endpoints: [{ kind: "kserve-v2", protocol: "grpc", target: "triton:8001" }] },
      },
    });
    assert.equal(good.success, true, JSON.stringify(good.error?.issues));
  });
});
