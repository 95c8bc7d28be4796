/**
 * What a client is told when the queue refuses a job's message: 503 `queue_unavailable` and nothing
 * left in the store; but when the queue reported a failure for a message it stored after all (a
 * publish that timed out while the broker came back) and a worker already took the job, the
 * submission is accepted, so the client is never told 503 for a job that runs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildRouter } from "../../src/app.js";
import { ANONYMOUS } from "../../src/auth/principal.js";
import { defaultConfigInput, parseConfig } from "../../src/config/load.js";
import { GatewayError } from "../../src/core/errors.js";
import { openSqliteQueue } from "../../src/jobs/queue/sqlite.js";
import type { Queue } from "../../src/jobs/queue/types.js";
import { JobService, JobSignals } from "../../src/jobs/service.js";
import { WebhookGuard } from "../../src/jobs/webhooks.js";
import { openSqliteStore } from "../../src/store/sqlite.js";

const JOB = {
  type: "chat.completion",
  request: { model: "sim-small", messages: [{ role: "user", content: "hi" }] },
};

test("a refused publish leaves nothing; a publish that failed after a worker took the job is accepted", async () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-refused-"));
  const config = parseConfig(defaultConfigInput());
  const store = openSqliteStore({ kind: "sqlite", path: join(dir, "store.db"), busyTimeoutMs: 5_000 });
  // A real queue in another file (so store and queue do not commit together), whose publish fails
  // in one of two ways the test chooses.
  const real = openSqliteQueue({ kind: "sqlite", path: join(dir, "queue.db"), busyTimeoutMs: 5_000 });
  let mode: "refuse" | "stored-then-timeout" = "refuse";
  const queue: Queue = {
    kind: "sqlite",
    async publish(id, payload) {
      if (mode === "refuse") throw new Error("broker unreachable");
      await real.publish(id, payload);
      // A worker takes the message and claims the job before the publisher hears back.
      const [d] = await real.receive({ max: 1, leaseMs: 30_000, waitMs: 0 });
      assert.ok(d);
      const now = Date.now();
      assert.ok(await store.jobs.claim(d.payload, d.leaseId, now, now + 30_000));
      throw new Error("publish timed out");
    },
    receive: (o) => real.receive(o),
    ack: (d) => real.ack(d),
    nack: (d, ms) => real.nack(d, ms),
    deadLetter: (d, why) => real.deadLetter(d, why),
    extend: (d, ms) => real.extend(d, ms),
    deadLetters: (n) => real.deadLetters(n),
    stats: () => real.stats(),
    close: () => real.close(),
  };
  const service = new JobService({
    config: config.jobs,
    store,
    queue,
    router: buildRouter(config),
    signals: new JobSignals(),
    webhooks: new WebhookGuard(config.jobs.webhooks),
  });
  try {
    await assert.rejects(service.submit(ANONYMOUS, JOB), (e: GatewayError) => {
      assert.ok(e instanceof GatewayError);
      assert.equal(e.code, "queue_unavailable");
      return true;
    });
    assert.deepEqual(await store.jobs.list({ owner: ANONYMOUS.id, limit: 10 }), [], "nothing left behind");

    mode = "stored-then-timeout";
    const { job, created } = await service.submit(ANONYMOUS, JOB);
    assert.equal(created, true);
    assert.equal((await store.jobs.get(job.id))?.status, "RUNNING", "the job the client was told about runs");
  } finally {
    await real.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
