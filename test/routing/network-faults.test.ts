import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { type Running, startGateway, startSim } from "../helpers/proc.js";
import {
  startToxiproxy,
  type Toxiproxy,
  type ToxiproxyProxy,
  toxiproxySkipReason,
} from "../helpers/toxiproxy.js";

// Toxiproxy sits between the gateway and one of two sim replicas: faults on the TCP level (latency,
// a black hole, resets, a refused port) must map to the right errors and move traffic to the
// healthy replica.

type Json = Record<string, unknown>;

async function chat(url: string, model = "m") {
  const res = await request(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 3 }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as Json };
}

const skip = toxiproxySkipReason();

describe("TCP faults between the gateway and an upstream", { skip }, () => {
  let toxi: Toxiproxy;
  let proxy: ToxiproxyProxy;
  let good: Running;
  let behind: Running;
  let gw: Running;
  before(async () => {
    toxi = await startToxiproxy();
    behind = await startSim(["--model", "m:instant"]);
    good = await startSim(["--model", "m:instant"]);
    proxy = await toxi.createProxy("upstream", `127.0.0.1:${behind.port}`);
    const quiet = {
      healthCheck: { enabled: false },
      breaker: { enabled: false },
      outlier: { enabled: false },
    };
    gw = await startGateway({
      logging: { level: "warn" },
      models: {
        // Only the proxied replica, no retries: each fault shows as its own error.
        alone: {
          endpoints: [
            {
              kind: "openai",
              url: `${proxy.url}/v1`,
              model: "m",
              headersTimeoutMs: 300,
              connectTimeoutMs: 300,
            },
          ],
          retry: { maxAttempts: 1 },
          ...quiet,
        },
        // The proxied replica and a healthy one, with retries.
        m: {
          endpoints: [
            { kind: "openai", url: `${proxy.url}/v1`, headersTimeoutMs: 300, connectTimeoutMs: 300 },
            { kind: "openai", url: `${good.url}/v1` },
          ],
          retry: { maxAttempts: 2, backoffBaseMs: 1, budgetRatio: 1 },
          ...quiet,
        },
      },
    });
  });
  after(async () => {
    await gw?.stop();
    await good?.stop();
    await behind?.stop();
    await toxi?.stop();
  });

  test("added latency beyond the header timeout is 504 upstream_timeout; without it the call succeeds", async () => {
    await proxy.addToxic({ type: "latency", attributes: { latency: 1500 } });
    const slow = await chat(gw.url, "alone");
    assert.equal(slow.status, 504);
    assert.equal((slow.json.error as Json).code, "upstream_timeout");
    await toxi.reset();
    assert.equal((await chat(gw.url, "alone")).status, 200);
  });

  test("a black hole or a reset on one replica is retried on the other", async () => {
    for (const toxic of [
      { type: "timeout" as const, attributes: { timeout: 0 } },
      { type: "reset_peer" as const, attributes: { timeout: 0 } },
    ]) {
      await proxy.addToxic(toxic);
      const answers = await Promise.all(Array.from({ length: 6 }, () => chat(gw.url)));
      assert.deepEqual(
        answers.map((a) => a.status),
        [200, 200, 200, 200, 200, 200],
        `${toxic.type}: ${JSON.stringify(answers.find((a) => a.status !== 200)?.json)}`,
      );
      await toxi.reset();
    }
  });

  test("a refused port is 503 upstream_unavailable, and the call works again when the port returns", async () => {
    await proxy.disable();
    const refused = await chat(gw.url, "alone");
    assert.equal(refused.status, 503);
    assert.equal((refused.json.error as Json).code, "upstream_unavailable");
    await proxy.enable();
    assert.equal((await chat(gw.url, "alone")).status, 200);
  });
});
