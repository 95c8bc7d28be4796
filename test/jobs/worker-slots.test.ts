/**
 * A worker holds at most `concurrency` jobs whose upstream call was made and whose end is not yet
 * written: the bound on duplicate upstream calls when a worker dies (docs/jobs.md). A job keeps its
 * place until its end is stored, not only until its upstream call returns.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { request } from "undici";
import { submitChatJob } from "../helpers/http.js";
import { type PostgresProc, postgresAvailable, startPostgres } from "../helpers/postgres.js";
import { configFor, type Running, startGateway, startSim } from "../helpers/proc.js";
import { type RedisProc, redisAvailable, startRedis } from "../helpers/redis.js";

async function status(gw: Running, id: string): Promise<string> {
  const res = await request(`${gw.url}/v1/jobs/${id}`);
  const job = (await res.body.json()) as { status: string };
  return job.status;
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test("a worker with one slot does not start the next job while the last one's end waits for the store", {
  timeout: 60_000,
}, async (t) => {
  if (!postgresAvailable(t) || !redisAvailable(t)) return;
  let pgProc: PostgresProc | undefined;
  let redis: RedisProc | undefined;
  let sim: Running | undefined;
  let gw: Running | undefined;
  try {
    [pgProc, redis, sim] = await Promise.all([
      startPostgres({ database: "slots" }),
      startRedis(),
      startSim(["--model", "sim-small:instant"]),
    ]);
    // Each run takes 400 ms upstream: time to lock the first job's row before its run ends.
    await request(`${sim.url}/sim/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ delayMs: 400 }),
    }).then((r) => r.body.text());
    gw = await startGateway(
      configFor(sim.url, {
        logging: { level: "warn" },
        store: { kind: "postgres", url: pgProc.url() },
        jobs: { workers: 1, queue: { kind: "redis", url: redis.url, name: "slots" } },
      }),
    );
    const g = gw;
    const first = await submitChatJob(g.url);
    await until("the first job to run", 5_000, async () => (await status(g, first)) === "RUNNING");
    // Holding the first job's row: its end (an UPDATE of that row) waits until the lock is let go.
    const held = new pg.Client({ connectionString: pgProc.url() });
    await held.connect();
    try {
      await held.query("BEGIN");
      await held.query("SELECT id FROM jobs WHERE id = $1 FOR UPDATE", [first]);
      const second = await submitChatJob(g.url);
      // The first job's run ends after 400 ms, but its end cannot be written: the second waits.
      await sleep(1_200);
      assert.equal(await status(g, first), "RUNNING");
      assert.equal(await status(g, second), "PENDING");
      await held.query("COMMIT");
      await until("the second job to finish", 10_000, async () => (await status(g, second)) === "SUCCESS");
    } finally {
      await held.end().catch(() => undefined);
    }
    assert.equal(await status(g, first), "SUCCESS");
  } finally {
    await gw?.stop();
    await sim?.stop();
    await redis?.stop();
    await pgProc?.cleanup();
  }
});
