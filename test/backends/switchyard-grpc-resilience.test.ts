import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { call, type Json } from "../helpers/http.js";
import { type Running, startGateway } from "../helpers/proc.js";
import { clearFaults, type GrpcSim, received, resetStats, setFaults, startGrpcSim } from "./_helpers.js";

// Two `switchyard sim` processes serving gRPC behind one gateway: retries, breakers, balancing and
// deadlines work on gRPC endpoints (switchyard-grpc and kserve-v2 over gRPC) as they do on HTTP ones.

const chat = { messages: [{ role: "user", content: "hi" }], max_tokens: 3 };
const tensor = { inputs: [{ name: "input", datatype: "FP32", shape: [1, 16], data: new Array(16).fill(1) }] };

describe("gRPC endpoints under the router", () => {
  let a: GrpcSim;
  let b: GrpcSim;
  let gw: Running;
  before(async () => {
    a = await startGrpcSim(["chat:instant", "clf:classifier"]);
    b = await startGrpcSim(["chat:instant", "clf:classifier"]);
    const policy = {
      balancer: "round_robin",
      healthCheck: { enabled: false },
      outlier: { enabled: false },
      breaker: { failureThreshold: 2, openMs: 60_000 },
      retry: { maxAttempts: 2, budgetRatio: 1, backoffBaseMs: 1 },
    };
    const sy = (s: GrpcSim) => ({ kind: "switchyard-grpc", target: s.grpcTarget, model: "chat" });
    const ks = (s: GrpcSim) => ({ kind: "kserve-v2", protocol: "grpc", target: s.grpcTarget, model: "clf" });
    gw = await startGateway({
      logging: { level: "warn" },
      models: {
        "sy-failover": { ...policy, endpoints: [sy(a), sy(b)] },
        "ks-failover": { ...policy, type: "kserve", endpoints: [ks(a), ks(b)] },
        "sy-rr": { balancer: "round_robin", healthCheck: { enabled: false }, endpoints: [sy(a), sy(b)] },
        "ks-rr": { balancer: "round_robin", type: "kserve", endpoints: [ks(a), ks(b)] },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });
  beforeEach(async () => {
    await Promise.all([clearFaults(a), clearFaults(b), resetStats(a), resetStats(b)]);
  });

  for (const [model, path, body] of [
    ["sy-failover", "/v1/chat/completions", { model: "sy-failover", ...chat }],
    ["ks-failover", "/v2/models/ks-failover/infer", tensor],
  ] as const) {
    test(`${model}: UNAVAILABLE on one endpoint is retried on the other, and its breaker opens`, async () => {
      await setFaults(a, { errorRate: 1, errorStatus: 503 });
      for (let i = 0; i < 8; i++) {
        const r = await call(gw.url, path, { body: body as Json });
        assert.equal(r.status, 200, `request ${i}: ${r.text}`);
      }
      // Two failures in a row open the circuit of `a`: it sees no call after them.
      const stats = (await call(a.url, "/sim/stats")).json;
      assert.equal(stats.requests, 2, JSON.stringify(stats));
      assert.deepEqual(stats.byStatus, { "503": 2 });
      assert.equal(await received(b), 8);
    });
  }

  for (const [model, path, body] of [
    ["sy-rr", "/v1/chat/completions", { model: "sy-rr", ...chat }],
    ["ks-rr", "/v2/models/ks-rr/infer", tensor],
  ] as const) {
    test(`${model}: round robin spreads calls over both gRPC endpoints`, async () => {
      for (let i = 0; i < 10; i++)
        assert.equal((await call(gw.url, path, { body: body as Json })).status, 200);
      const [na, nb] = [await received(a), await received(b)];
      assert.equal(na + nb, 10);
      assert.ok(Math.abs(na - nb) <= 1, `a=${na} b=${nb}`);
    });
  }

  test("a deadline cancels a gRPC stream that has not started, and the sim sees the call end", async () => {
    const id = "sy-stream-deadline";
    const t0 = Date.now();
    const r = await call(gw.url, "/v1/chat/completions", {
      body: { model: "sy-rr", ...chat, stream: true },
      headers: { "x-sim-fault": "hang", "x-switchyard-timeout-ms": "300", "x-request-id": id },
    });
    assert.equal(r.status, 504, r.text);
    assert.equal((r.json.error as Json).code, "deadline_exceeded");
    assert.ok(Date.now() - t0 < 3_000);
    let rec: Json = {};
    for (let i = 0; i < 40 && rec.aborted !== true; i++) {
      const sim = (await call(a.url, `/sim/requests/${id}`)).status === 200 ? a : b;
      rec = (await call(sim.url, `/sim/requests/${id}`)).json;
      if (rec.aborted !== true) await sleep(50);
    }
    assert.equal(rec.aborted, true, JSON.stringify(rec));
  });
});
