import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import {
  configFor,
  type Running,
  startCli,
  startGateway,
  startSim,
  writeTempConfig,
} from "../helpers/proc.js";

// Real processes: a gateway without workers and a `switchyard worker` on the same SQLite file; the
// worker is SIGKILLed every 1.5 s and restarted. Every job must end SUCCESS, and upstream calls beyond
// one per job are bounded by kills × concurrency.
const JOBS = 2_000;
const CONCURRENCY = 16;

let sim: Running;
let gw: Running;
let configFile: string;
before(async () => {
  sim = await startSim(["--model", "sim-small:instant"]);
  const dir = mkdtempSync(join(tmpdir(), "switchyard-crash-"));
  const config = {
    ...configFor(sim.url),
    logging: { level: "warn", accessLog: false },
    store: { path: join(dir, "jobs.db") },
    jobs: {
      workers: 0,
      leaseMs: 1_000,
      pollIntervalMs: 50,
      maxAttempts: 50,
      backoff: { baseMs: 10, maxMs: 50 },
    },
  };
  configFile = writeTempConfig(config);
  gw = await startGateway(config);
});
after(async () => {
  await gw?.stop();
  await sim?.stop();
});

const startWorker = () =>
  startCli(
    ["worker", "--config", configFile, "--concurrency", String(CONCURRENCY)],
    "switchyard worker started",
  );

async function submitAll(): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const body = JSON.stringify({
    type: "chat.completion",
    request: { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 4 },
  });
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < JOBS) {
        next++;
        const res = await request(`${gw.url}/v1/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        const j = (await res.body.json()) as { id: string };
        assert.equal(res.statusCode, 202);
        ids.push(j.id);
      }
    }),
  );
  return ids;
}

async function countByStatus(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const status of ["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"]) {
    let after = "";
    let n = 0;
    for (;;) {
      const res = await request(
        `${gw.url}/v1/jobs?status=${status}&limit=100${after ? `&after=${after}` : ""}`,
      );
      const page = (await res.body.json()) as { data: unknown[]; has_more: boolean; last_id: string | null };
      n += page.data.length;
      if (!page.has_more || !page.last_id) break;
      after = page.last_id;
    }
    out[status] = n;
  }
  return out;
}

test("2,000 jobs survive a worker SIGKILLed every 1.5 s: all SUCCESS, duplicates bounded", {
  timeout: 90_000,
}, async () => {
  // Each upstream call takes 25 ms, so the run lasts several seconds and the kills land mid-run.
  await request(`${sim.url}/sim/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ delayMs: 25 }),
  }).then((r) => r.body.dump());
  await request(`${sim.url}/sim/stats/reset`, { method: "POST" }).then((r) => r.body.dump());
  let worker = await startWorker();
  let kills = 0;
  let done = false;
  const killer = (async () => {
    while (!done) {
      await sleep(1_500);
      if (done) break;
      worker.proc.kill("SIGKILL");
      await worker.exited;
      kills++;
      worker = await startWorker();
    }
  })();
  let counts: Record<string, number> = {};
  try {
    const ids = await submitAll();
    assert.equal(new Set(ids).size, JOBS);
    const started = Date.now();
    for (;;) {
      await sleep(500);
      counts = await countByStatus();
      if (counts.SUCCESS === JOBS) break;
      assert.ok(Date.now() - started < 70_000, `not done in time: ${JSON.stringify(counts)}`);
    }
  } finally {
    // Stop the kill loop whether or not the run finished, or it would restart workers forever.
    done = true;
    await killer;
    await worker.stop();
  }
  assert.equal(counts.SUCCESS, JOBS, JSON.stringify(counts));
  assert.equal(counts.FAILED, 0);
  const stats = (await (await request(`${sim.url}/sim/stats`)).body.json()) as { requests: number };
  const duplicates = stats.requests - JOBS;
  assert.ok(duplicates >= 0);
  assert.ok(duplicates <= kills * CONCURRENCY, `${duplicates} duplicates after ${kills} kills`);
  assert.ok(kills >= 2, `the worker was killed only ${kills} times: the test proved little`);
});
