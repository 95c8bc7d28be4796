import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Client } from "undici";
import { type Running, startSim } from "../helpers/proc.js";
import {
  startToxiproxy,
  type Toxiproxy,
  ToxiproxyApiError,
  type ToxiproxyProxy,
  toxiproxySkipReason,
} from "../helpers/toxiproxy.js";

const BODY = JSON.stringify({
  model: "sim-small",
  messages: [{ role: "user", content: "through the proxy" }],
  max_tokens: 4,
});

interface Answer {
  status: number;
  ms: number;
}

/** One request on a fresh connection (so no pooled socket hides what the proxy does to new ones). */
async function chatVia(origin: string, signal?: AbortSignal): Promise<Answer> {
  const client = new Client(origin);
  const t0 = performance.now();
  try {
    const res = await client.request({
      method: "POST",
      path: "/v1/chat/completions",
      headers: { "content-type": "application/json" },
      body: BODY,
      signal,
    });
    await res.body.text();
    return { status: res.statusCode, ms: performance.now() - t0 };
  } finally {
    await client.destroy();
  }
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? code : (err as Error).name;
  }
  assert.fail("expected the request to fail");
}

describe("toxiproxy helper against a real switchyard sim", { skip: toxiproxySkipReason() }, () => {
  let sim: Running;
  let toxiproxy: Toxiproxy;
  let proxy: ToxiproxyProxy;

  before(async () => {
    sim = await startSim(["--model", "sim-small:instant"]);
    toxiproxy = await startToxiproxy();
    proxy = await toxiproxy.createProxy("sim", `127.0.0.1:${sim.port}`);
  });
  after(async () => {
    await toxiproxy?.stop();
    await sim?.stop();
  });
  afterEach(() => toxiproxy.reset());

  it("creates a proxy on a free port that forwards to the sim", async () => {
    assert.ok(proxy.port > 0);
    assert.equal(proxy.url, `http://127.0.0.1:${proxy.port}`);
    const info = await proxy.info();
    assert.equal(info.upstream, `127.0.0.1:${sim.port}`);
    assert.equal(info.enabled, true);
    assert.equal((await chatVia(proxy.url)).status, 200);
  });

  it("a latency toxic adds its latency; removing it takes it away", async () => {
    const base = await chatVia(proxy.url);
    const toxic = await proxy.addToxic({ type: "latency", attributes: { latency: 150 } });
    assert.equal(toxic.name, "latency_downstream");
    const slow = await chatVia(proxy.url);
    assert.equal(slow.status, 200);
    assert.ok(slow.ms >= 145, `with latency: ${slow.ms.toFixed(1)} ms`);
    await proxy.removeToxic(toxic.name);
    const fast = await chatVia(proxy.url);
    assert.ok(fast.ms < 100, `after removal: ${fast.ms.toFixed(1)} ms (base ${base.ms.toFixed(1)} ms)`);
  });

  it("a reset_peer toxic resets the connection", async () => {
    await proxy.addToxic({ type: "reset_peer", attributes: { timeout: 0 }, stream: "upstream" });
    const code = await errorCode(chatVia(proxy.url));
    assert.match(code, /^(ECONNRESET|UND_ERR_SOCKET)$/);
  });

  it("a timeout toxic is a black hole until removed", async () => {
    await proxy.addToxic({ type: "timeout", attributes: { timeout: 0 } });
    const code = await errorCode(chatVia(proxy.url, AbortSignal.timeout(200)));
    assert.match(code, /^(TimeoutError|AbortError|UND_ERR_ABORTED)$/);
    await proxy.removeToxic("timeout_downstream");
    assert.equal((await chatVia(proxy.url)).status, 200);
  });

  it("disabling the proxy refuses connections; enabling it restores them on the same port", async () => {
    const port = proxy.port;
    await proxy.disable();
    assert.equal((await proxy.info()).enabled, false);
    assert.equal(await errorCode(chatVia(proxy.url)), "ECONNREFUSED");
    await proxy.enable();
    assert.equal(proxy.port, port);
    assert.equal((await chatVia(proxy.url)).status, 200);
  });

  it("lists bandwidth and slow_close toxics with their attributes; reset removes them", async () => {
    await proxy.addToxic({ type: "bandwidth", attributes: { rate: 64 }, stream: "upstream" });
    await proxy.addToxic({ type: "slow_close", attributes: { delay: 50 }, name: "sc", toxicity: 0.5 });
    const toxics = (await proxy.info()).toxics.sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(
      toxics.map((t) => [t.name, t.type, t.stream, t.toxicity, t.attributes]),
      [
        ["bandwidth_upstream", "bandwidth", "upstream", 1, { rate: 64 }],
        ["sc", "slow_close", "downstream", 0.5, { delay: 50 }],
      ],
    );
    assert.equal((await chatVia(proxy.url)).status, 200);
    await toxiproxy.reset();
    assert.deepEqual((await proxy.info()).toxics, []);
  });

  it("API errors carry the status", async () => {
    await assert.rejects(proxy.removeToxic("no-such-toxic"), (err: unknown) => {
      assert.ok(err instanceof ToxiproxyApiError);
      assert.equal(err.status, 404);
      return true;
    });
  });
});
