/**
 * End to end over NATS: a gateway accepts jobs onto the JetStream queue, nats-server is SIGKILLed
 * and restarted, and a separate `switchyard worker` process then runs them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { natsAvailable, startNats } from "../helpers/nats.js";
import { configFor, startCli, startGateway, startSim, writeTempConfig } from "../helpers/proc.js";

test("jobs accepted onto NATS survive a nats-server kill and run in a separate worker", async (t) => {
  if (!natsAvailable(t)) return;
  const nats = await startNats();
  const sim = await startSim(["--model", "sim-small:instant"]);
  const dir = mkdtempSync(join(tmpdir(), "switchyard-nats-e2e-"));
  const config = {
    ...configFor(sim.url),
    logging: { level: "warn" },
    store: { path: join(dir, "jobs.db") },
    jobs: {
      workers: 0,
      queue: { kind: "nats", servers: [nats.url], stream: "E2E", subjectPrefix: "e2e", reconnectWaitMs: 50 },
    },
  };
  const gw = await startGateway(config);
  const ids: string[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const res = await request(`${gw.url}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "chat.completion",
          priority: i,
          request: { model: "sim-small", messages: [{ role: "user", content: `hi ${i}` }], max_tokens: 2 },
        }),
      });
      const body = await res.body.text();
      assert.equal(res.statusCode, 202, body);
      ids.push((JSON.parse(body) as { id: string }).id);
    }
    await nats.kill();
    await nats.restart();
    const worker = await startCli(
      ["worker", "--config", writeTempConfig(config)],
      "switchyard worker started",
    );
    try {
      for (const id of ids) {
        let status = "";
        for (let i = 0; i < 150 && status !== "SUCCESS"; i++) {
          const r = await request(`${gw.url}/v1/jobs/${id}`);
          status = ((await r.body.json()) as { status: string }).status;
          if (status !== "SUCCESS") await sleep(100);
        }
        assert.equal(status, "SUCCESS", `job ${id}`);
      }
    } finally {
      await worker.stop();
    }
  } finally {
    await gw.stop();
    await sim.stop();
    await nats.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
