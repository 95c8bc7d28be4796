import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { request } from "undici";
import { configFor, startCli, startGateway, startSim, writeTempConfig } from "../helpers/proc.js";

// A crash between writing a job and queueing it leaves a PENDING job on no queue. The runtime
// re-publishes such jobs, so the job still runs.
test("a PENDING job missing from the queue is re-published and runs", async () => {
  const sim = await startSim(["--model", "sim-small:instant"]);
  const db = join(mkdtempSync(join(tmpdir(), "switchyard-recover-")), "jobs.db");
  const config = {
    ...configFor(sim.url),
    logging: { level: "warn" },
    store: { path: db },
    jobs: { workers: 0, leaseMs: 500 },
  };
  const gw = await startGateway(config);
  try {
    const res = await request(`${gw.url}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        type: "chat.completion",
        request: { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
      }),
    });
    assert.equal(res.statusCode, 202);
    const { id } = (await res.body.json()) as { id: string };
    // What a crash right after the job row was written would leave: the row, no message.
    const raw = new Database(db);
    const removed = raw.prepare("DELETE FROM queue_messages").run().changes;
    raw.close();
    assert.equal(removed, 1);
    await sleep(600);
    const worker = await startCli(
      ["worker", "--config", writeTempConfig(config)],
      "switchyard worker started",
    );
    try {
      let status = "";
      for (let i = 0; i < 100 && status !== "SUCCESS"; i++) {
        const r = await request(`${gw.url}/v1/jobs/${id}`);
        status = ((await r.body.json()) as { status: string }).status;
        if (status !== "SUCCESS") await sleep(100);
      }
      assert.equal(status, "SUCCESS");
    } finally {
      await worker.stop();
    }
  } finally {
    await gw.stop();
    await sim.stop();
  }
});
