import assert from "node:assert/strict";
import { test } from "node:test";
import { request } from "undici";
import { configFor, startGateway, startSim } from "../helpers/proc.js";

test("SIGTERM lets a stream in flight finish, refuses new work and exits 0", async () => {
  const sim = await startSim(["--model", "sim-small:instant"]);
  const gw = await startGateway(configFor(sim.url, { server: { shutdownGraceMs: 10_000 } }));
  try {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sim-fault": "itl=15" },
      body: JSON.stringify({
        model: "sim-small",
        messages: [{ role: "user", content: "x" }],
        stream: true,
        max_tokens: 40,
      }),
    });
    assert.equal(res.statusCode, 200);
    const it = res.body[Symbol.asyncIterator]();
    let text = ((await it.next()).value as Buffer).toString();
    gw.proc.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(request(`${gw.url}/healthz`), "new connections are refused while draining");
    for (;;) {
      const n = await it.next();
      if (n.done) break;
      text += (n.value as Buffer).toString();
    }
    assert.match(text, /data: \[DONE\]\n\n$/);
    assert.equal(await gw.exited, 0);
  } finally {
    await gw.stop();
    await sim.stop();
  }
});

test("a stream that outlives the grace period is cut with an error event, and the process still exits 0", async () => {
  const sim = await startSim(["--model", "sim-small:instant"]);
  const gw = await startGateway(configFor(sim.url, { server: { shutdownGraceMs: 300 } }));
  try {
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sim-fault": "itl=50" },
      body: JSON.stringify({
        model: "sim-small",
        messages: [{ role: "user", content: "x" }],
        stream: true,
        max_tokens: 200,
      }),
    });
    const it = res.body[Symbol.asyncIterator]();
    let text = ((await it.next()).value as Buffer).toString();
    gw.proc.kill("SIGTERM");
    try {
      for (;;) {
        const n = await it.next();
        if (n.done) break;
        text += (n.value as Buffer).toString();
      }
    } catch {
      // the socket may close right after the last event
    }
    assert.ok(!text.includes("[DONE]"));
    assert.match(text, /"code":"shutting_down"/);
    assert.equal(await gw.exited, 0);
  } finally {
    await gw.stop();
    await sim.stop();
  }
});
