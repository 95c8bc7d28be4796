// biome-ignore-all lint/suspicious/noExplicitAny: API answers are read as loose JSON in these tests
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { call } from "../helpers/http.js";
import { type Running, startCli, startGateway, writeTempConfig } from "../helpers/proc.js";
import { pipelineModels, startPipelineSim } from "./_helpers.js";

// Real processes: a gateway without workers and a `switchyard worker` on the same SQLite file. The
// worker is SIGKILLed while pipeline jobs are in the middle of their steps; a new worker takes them
// over once their leases expire, and every job ends SUCCESS with a complete result.

const JOBS = 6;

let sim: Running;
let gw: Running;
let configFile: string;
const workers: Running[] = [];

before(async () => {
  sim = await startPipelineSim();
  const dir = mkdtempSync(join(tmpdir(), "switchyard-pipeline-crash-"));
  const config = {
    logging: { level: "warn", accessLog: false },
    store: { path: join(dir, "jobs.db") },
    models: pipelineModels(sim.url),
    jobs: {
      workers: 0,
      leaseMs: 1_000,
      pollIntervalMs: 50,
      maxAttempts: 5,
      backoff: { baseMs: 10, maxMs: 50 },
    },
    pipelines: {
      slow: {
        inputs: { n: { type: "integer" } },
        steps: {
          first: {
            model: "sim-small",
            prompt: "{{ input.n }}",
            request: { max_tokens: 2 },
            headers: { "x-sim-fault": "delay=400" },
          },
          second: {
            model: "sim-large",
            prompt: "{{ steps.first.output.text }}",
            request: { max_tokens: 2 },
            headers: { "x-sim-fault": "delay=400" },
          },
        },
        output: { n: "{{ input.n }}", text: "{{ steps.second.output.text }}" },
      },
    },
  };
  configFile = writeTempConfig(config);
  gw = await startGateway(config);
});
after(async () => {
  for (const w of workers) await w.stop();
  await gw?.stop();
  await sim?.stop();
});

const startWorker = async () => {
  const w = await startCli(
    ["worker", "--config", configFile, "--concurrency", "8"],
    "switchyard worker started",
  );
  workers.push(w);
  return w;
};

test("pipeline jobs survive a worker killed mid-run", { timeout: 60_000 }, async () => {
  const ids: string[] = [];
  for (let n = 0; n < JOBS; n++) {
    const r = await call(gw.url, "/v1/jobs", {
      body: { type: "pipeline", request: { pipeline: "slow", input: { n } } },
    });
    assert.equal(r.status, 202, r.text);
    ids.push(String(r.json.id));
  }
  const first = await startWorker();
  // Kill the worker once every job is RUNNING (its first step in flight, 400 ms each).
  const until = Date.now() + 15_000;
  for (;;) {
    const running = await Promise.all(
      ids.map(async (id) => (await call(gw.url, `/v1/jobs/${id}`)).json.status),
    );
    if (running.every((s) => s === "RUNNING")) break;
    assert.ok(Date.now() < until, `jobs never all ran: ${running.join(",")}`);
    await sleep(25);
  }
  await sleep(150);
  first.proc.kill("SIGKILL");
  await first.exited;
  await startWorker();
  const jobs: any[] = [];
  for (const id of ids) {
    for (;;) {
      const job = (await call(gw.url, `/v1/jobs/${id}`)).json as any;
      if (job.status === "SUCCESS" || job.status === "FAILED") {
        jobs.push(job);
        break;
      }
      assert.ok(Date.now() < until + 30_000, `job ${id} stuck in ${job.status}`);
      await sleep(100);
    }
  }
  for (const [n, job] of jobs.entries()) {
    assert.equal(job.status, "SUCCESS", JSON.stringify(job));
    assert.equal(job.result.object, "pipeline.run");
    assert.equal(job.result.output.n, n);
    assert.equal(typeof job.result.output.text, "string");
    // The killed attempt counts: each job ran twice, the second time to the end.
    assert.equal(job.attempts, 2, JSON.stringify(job));
  }
});
