import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ANONYMOUS } from "../../src/auth/principal.js";
import { openSqliteQueue } from "../../src/jobs/queue/sqlite.js";
import { commitsTogether } from "../../src/jobs/service.js";
import { openSqliteStore } from "../../src/store/sqlite.js";
import { queueConformance } from "./queue-conformance.js";

queueConformance("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-queue-"));
  const cfg = { kind: "sqlite" as const, path: join(dir, "q.db"), busyTimeoutMs: 5_000 };
  return {
    open: async () => openSqliteQueue(cfg, { pollIntervalMs: 50 }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

test("a store and a queue on one SQLite file commit together: a job row and its message land in one sync, in order", async () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-queue-"));
  const cfg = (file: string) => ({ kind: "sqlite" as const, path: join(dir, file), busyTimeoutMs: 5_000 });
  const store = openSqliteStore(cfg("one.db"));
  const queue = openSqliteQueue(cfg("one.db"));
  const elsewhere = openSqliteQueue(cfg("other.db"));
  try {
    assert.equal(commitsTogether(store, queue), true);
    assert.equal(commitsTogether(store, elsewhere), false);
    // Asked for in one turn, the two writes commit in that order and both are there afterwards.
    const order: string[] = [];
    const job = {
      id: "job_commit_together",
      owner: "anonymous",
      principal: ANONYMOUS,
      type: "chat.completion" as const,
      request: { model: "m" },
      priority: 0,
      runAfter: 1,
      deadlineAt: null,
      maxAttempts: 1,
      webhook: null,
      metadata: null,
      traceparent: null,
      tracestate: null,
      createdAt: 1,
    };
    await Promise.all([
      store.jobs.create(job).then(() => order.push("row")),
      queue.publish("job_commit_together.1", job.id).then(() => order.push("message")),
    ]);
    assert.deepEqual(order, ["row", "message"]);
    assert.equal((await store.jobs.get(job.id))?.status, "PENDING");
    assert.equal((await queue.stats()).ready, 1);
  } finally {
    await elsewhere.close();
    await queue.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("taken one at a time (a worker with one free slot), messages come in the same order as in a batch", async () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-queue-"));
  const queue = openSqliteQueue({ kind: "sqlite", path: join(dir, "one.db"), busyTimeoutMs: 5_000 });
  try {
    const now = Date.now();
    await queue.publish("low", "l", { priority: 0, notBefore: now - 50 });
    await queue.publish("high-late", "hl", { priority: 5, notBefore: now - 10 });
    await queue.publish("high-early", "he", { priority: 5, notBefore: now - 20 });
    await queue.publish("low-2", "l2", { priority: 0, notBefore: now - 50 });
    await queue.publish("future", "f", { priority: 9, notBefore: now + 60_000 });
    const taken: string[] = [];
    for (;;) {
      const got = await queue.receive({ max: 1, leaseMs: 5_000, waitMs: 0 });
      if (got.length === 0) break;
      assert.equal(got.length, 1);
      assert.equal(got[0]?.deliveries, 1);
      taken.push(got[0]?.id ?? "");
    }
    assert.deepEqual(taken, ["high-early", "high-late", "low", "low-2"]);
  } finally {
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
