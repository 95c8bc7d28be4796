import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createKey, type Running, startGateway, startSim } from "../helpers/proc.js";
import { type Clients, connect, metadata, trailer } from "./_helpers.js";
import { GRPCURL, run } from "./_tools.js";

const hi = [{ role: "user", content: "hi" }];

describe("gRPC auth and limits: the same gate as HTTP", () => {
  let sim: Running;
  let gw: Running;
  let c: Clients;
  let key: string;
  before(async () => {
    const db = join(mkdtempSync(join(tmpdir(), "switchyard-grpc-keys-")), "keys.db");
    sim = await startSim(["--model", "sim-small:instant", "--model", "sim-embed:embedding"]);
    const upstream = { kind: "openai", url: `${sim.url}/v1` };
    gw = await startGateway({
      logging: { level: "warn" },
      auth: { mode: "keys", adminKey: "admin-key-for-grpc-tests-0123456789" },
      store: { path: db },
      limits: { models: { "sim-limited": { rpm: 1 } } },
      models: {
        "sim-small": { endpoints: [upstream] },
        "sim-limited": { endpoints: [{ ...upstream, model: "sim-small" }] },
        "sim-embed": { type: "embedding", endpoints: [upstream] },
      },
    });
    key = createKey(db, "grpc", ["sim-small", "sim-limited"]);
    c = connect(gw.grpcPort!);
  });
  after(async () => {
    c?.close();
    await gw?.stop();
    await sim?.stop();
  });

  test("no key or a bad key: UNAUTHENTICATED; a key works from authorization or x-api-key", async () => {
    const none = await c.chat({ model: "sim-small", messages: hi });
    assert.equal(none.error?.code, status.UNAUTHENTICATED);
    assert.equal(trailer(none.error, "x-switchyard-error-code"), "invalid_api_key");
    const bad = await c.chat(
      { model: "sim-small", messages: hi },
      metadata({ authorization: "Bearer sk-sy-nope" }),
    );
    assert.equal(bad.error?.code, status.UNAUTHENTICATED);

    const bearer = await c.chat(
      { model: "sim-small", messages: hi, max_tokens: 2 },
      metadata({ authorization: `Bearer ${key}` }),
    );
    assert.equal(bearer.error, undefined, bearer.error?.details);
    const apiKey = await c.chat(
      { model: "sim-small", messages: hi, max_tokens: 2 },
      metadata({ "x-api-key": key }),
    );
    assert.equal(apiKey.error, undefined, apiKey.error?.details);
    const jobs = await c.get("job_x", metadata({ authorization: "Bearer sk-sy-nope" }));
    assert.equal(jobs.error?.code, status.UNAUTHENTICATED, "the Jobs service authenticates too");
  });

  test("a model outside the key's list: PERMISSION_DENIED", async () => {
    const r = await c.embed(
      { model: "sim-embed", input: ["x"] },
      metadata({ authorization: `Bearer ${key}` }),
    );
    assert.equal(r.error?.code, status.PERMISSION_DENIED);
    assert.equal(trailer(r.error, "x-switchyard-error-code"), "model_not_allowed");
  });

  test("over the rate limit: RESOURCE_EXHAUSTED with retry-after-ms and RetryInfo", async () => {
    const md = () => metadata({ authorization: `Bearer ${key}` });
    const first = await c.chat({ model: "sim-limited", messages: hi, max_tokens: 2 }, md());
    assert.equal(first.error, undefined, first.error?.details);
    assert.ok(
      first.headers.get("x-ratelimit-limit-requests").length > 0,
      "limit headers as response metadata",
    );
    const second = await c.chat({ model: "sim-limited", messages: hi, max_tokens: 2 }, md());
    assert.equal(second.error?.code, status.RESOURCE_EXHAUSTED);
    assert.equal(trailer(second.error, "x-switchyard-error-code"), "rate_limited");
    const retryMs = Number(trailer(second.error, "retry-after-ms"));
    assert.ok(retryMs > 0 && retryMs <= 60_000, `retry-after-ms ${retryMs}`);
    assert.ok(second.error?.metadata.get("grpc-status-details-bin").length, "status details are sent");
    if (GRPCURL) {
      // An independent decoder: grpcurl prints the google.rpc details it finds.
      const body = JSON.stringify({ model: "sim-limited", messages: hi });
      const r = await run(GRPCURL, [
        "-plaintext",
        "-H",
        `authorization: Bearer ${key}`,
        "-d",
        body,
        `127.0.0.1:${gw.grpcPort}`,
        "switchyard.v1.Inference/Chat",
      ]);
      assert.match(r.stderr, /Code: ResourceExhausted/);
      assert.match(r.stderr, /"@type": "type\.googleapis\.com\/google\.rpc\.RetryInfo"/);
      assert.match(r.stderr, /"retryDelay": "\d+(\.\d+)?s"/);
    }
  });
});
