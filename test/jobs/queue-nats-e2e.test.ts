/**
 * End to end over NATS: a gateway accepts jobs onto the JetStream queue, nats-server is SIGKILLed
 * and restarted, and a separate `switchyard worker` process then runs them; a job whose message ran
 * past `maxDeliver` before any worker claimed it ends FAILED instead of staying PENDING.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { openNatsQueue } from "../../src/jobs/queue/nats.js";
import { natsQueueConfigSchema } from "../../src/jobs/queue/nats-config.js";
import { submitChatJob } from "../helpers/http.js";
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
      ids.push(await submitChatJob(gw.url, { content: `hi ${i}`, extra: { priority: i } }));
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

test("a job whose message was delivered past maxDeliver without a claim ends FAILED and dead-lettered", async (t) => {
  if (!natsAvailable(t)) return;
  const nats = await startNats();
  const sim = await startSim(["--model", "sim-small:instant"]);
  const dir = mkdtempSync(join(tmpdir(), "switchyard-nats-exhausted-"));
  const queue = {
    kind: "nats",
    servers: [nats.url],
    stream: "EXH",
    subjectPrefix: "exh",
    reconnectWaitMs: 50,
    maxDeliver: 2,
  };
  const config = {
    ...configFor(sim.url),
    logging: { level: "warn" },
    store: { path: join(dir, "jobs.db") },
    jobs: { workers: 0, queue },
  };
  const gw = await startGateway(config);
  // Stands in for workers that die after taking the message and before claiming the job.
  const raw = await openNatsQueue(natsQueueConfigSchema.parse(queue), { pollIntervalMs: 50 });
  try {
    const id = await submitChatJob(gw.url);
    for (let i = 1; i <= 2; i++) {
      const got = await raw.receive({ max: 1, leaseMs: 50, waitMs: 3_000 });
      assert.deepEqual(
        got.map((d) => [d.payload, d.deliveries]),
        [[id, i]],
      );
      await sleep(150);
    }
    const worker = await startCli(
      ["worker", "--config", writeTempConfig(config)],
      "switchyard worker started",
    );
    let job: {
      status: string;
      attempts?: number;
      attempt_errors?: Array<{ attempt: number; code: string }>;
      error?: { code: string; message: string };
    } = { status: "" };
    try {
      for (let i = 0; i < 100 && job.status !== "FAILED"; i++) {
        const r = await request(`${gw.url}/v1/jobs/${id}`);
        job = (await r.body.json()) as typeof job;
        if (job.status !== "FAILED") await sleep(100);
      }
    } finally {
      await worker.stop();
    }
    assert.equal(job.status, "FAILED", JSON.stringify(job));
    assert.equal(job.error?.code, "internal_error");
    assert.equal(job.attempts, 1); // the claim that failed it, without an upstream call
    assert.deepEqual(
      job.attempt_errors?.map((e) => [e.attempt, e.code]),
      [[1, "internal_error"]],
    );
    assert.match(job.error?.message ?? "", /the queue gave up on the job: max_deliveries: delivered 2 times/);
    const dead = await raw.deadLetters(10);
    assert.deepEqual(
      dead.map((d) => [d.payload, d.deliveries]),
      [[id, 3]],
    );
    assert.match(dead[0]?.reason ?? "", /^internal_error: the queue gave up on the job: max_deliveries/);
    assert.deepEqual(await raw.stats(), { ready: 0, leased: 0, dead: 1 });
  } finally {
    await raw.close();
    await gw.stop();
    await sim.stop();
    await nats.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
