import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { request } from "undici";
import { submitChatJob } from "../helpers/http.js";
import {
  configFor,
  type Running,
  startCli,
  startGateway,
  startSim,
  writeTempConfig,
} from "../helpers/proc.js";

interface Accepted {
  gw: Running;
  sim: Running;
  /** The gateway's SQLite file, to change behind its back. */
  db: string;
  id: string;
  /** Starts a `switchyard worker` on the same config; stop it when done. */
  worker(): Promise<Running>;
  /** Polls the job until `done` holds for it (10 s at most) and returns what it last read. */
  until<J extends { status: string }>(done: (job: J) => boolean): Promise<J>;
}

/** A gateway without workers (SQLite, leaseMs 500) that accepted one chat job; stopped after `body`. */
async function withAcceptedJob(extra: Record<string, unknown>, body: (a: Accepted) => Promise<void>) {
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
    const id = await submitChatJob(gw.url, { extra });
    await body({
      gw,
      sim,
      db,
      id,
      worker: () => startCli(["worker", "--config", writeTempConfig(config)], "switchyard worker started"),
      async until<J extends { status: string }>(done: (job: J) => boolean): Promise<J> {
        let job = { status: "" } as J;
        for (let i = 0; i < 100; i++) {
          job = (await (await request(`${gw.url}/v1/jobs/${id}`)).body.json()) as J;
          if (done(job)) break;
          await sleep(100);
        }
        return job;
      },
    });
  } finally {
    await gw.stop();
    await sim.stop();
  }
}

// A crash between writing a job and queueing it leaves a PENDING job on no queue. The runtime
// re-publishes such jobs, so the job still runs.
test("a PENDING job missing from the queue is re-published and runs", async () => {
  await withAcceptedJob({}, async ({ db, worker, until }) => {
    // What a crash right after the job row was written would leave: the row, no message.
    const raw = new Database(db);
    const removed = raw.prepare("DELETE FROM queue_messages").run().changes;
    raw.close();
    assert.equal(removed, 1);
    await sleep(600);
    const w = await worker();
    try {
      const job = await until((j) => j.status === "SUCCESS");
      assert.equal(job.status, "SUCCESS");
    } finally {
      await w.stop();
    }
  });
});

// A worker that died mid-attempt on a job's last attempt leaves it RUNNING with a lapsed lease. The
// next worker to get its message takes it over, sees no attempt left, and fails it without a call.
test("a RUNNING job whose last attempt's worker died is failed, not run again", async () => {
  await withAcceptedJob({ max_attempts: 1 }, async ({ gw, sim, db, id, worker, until }) => {
    // What a worker killed during the job's only attempt leaves: RUNNING, attempt 1 of 1, its lease over.
    const raw = new Database(db);
    const changed = raw
      .prepare(
        `UPDATE jobs SET status = 'RUNNING', attempts = 1, run_token = 'dead-worker',
           started_at = ?, lease_until = ? WHERE id = ?`,
      )
      .run(Date.now() - 2_000, Date.now() - 1_000, id).changes;
    raw.close();
    assert.equal(changed, 1);
    const w = await worker();
    try {
      type Job = { status: string; error: { code: string; message: string } | null };
      const job = await until<Job>((j) => j.status === "FAILED");
      assert.equal(job.status, "FAILED", JSON.stringify(job));
      assert.equal(job.error?.code, "internal_error");
      assert.match(job.error?.message ?? "", /attempts exhausted/);
      const failed = await request(`${gw.url}/v1/jobs?status=FAILED`);
      const list = (await failed.body.json()) as { data: Array<{ id: string }> };
      assert.ok(
        list.data.some((j) => j.id === id),
        "listed with the failed jobs",
      );
      const stats = await request(`${sim.url}/sim/stats`);
      assert.equal(((await stats.body.json()) as { requests: number }).requests, 0, "no upstream call");
    } finally {
      await w.stop();
    }
  });
});

// A second copy of a job's message, taken by the worker that is running the job (a redelivery, a
// re-publish), waits in the queue: the running attempt keeps its lease, and the job runs once.
test("a copy of a running job's message delivered to the same worker does not run it twice", async () => {
  await withAcceptedJob({}, async ({ sim, db, id, worker, until }) => {
    await request(`${sim.url}/sim/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ delayMs: 2_000 }),
    }).then((r) => r.body.dump());
    const raw = new Database(db);
    const now = Date.now();
    const copied = raw
      .prepare(
        `INSERT INTO queue_messages (queue, id, payload, priority, visible_at, enqueued_at)
         SELECT queue, id || '.copy', payload, priority, ?, ? FROM queue_messages WHERE payload = ?`,
      )
      .run(now, now, id).changes;
    raw.close();
    assert.equal(copied, 1);
    const w = await worker();
    try {
      const job = await until<{ status: string; attempts: number }>((j) => j.status === "SUCCESS");
      assert.equal(job.status, "SUCCESS");
      assert.equal(job.attempts, 1);
      // Long enough for a copy that took over a lapsed lease (0.5 s) to have called the upstream again.
      await sleep(1_000);
      const stats = await request(`${sim.url}/sim/stats`);
      assert.equal(((await stats.body.json()) as { requests: number }).requests, 1, "one upstream call");
    } finally {
      await w.stop();
    }
  });
});
