/**
 * Issue 7: the embedded job queue (SQLite in a temp folder) with an instant sim. Two gateways with
 * their own database files: one with `jobs.workers: 0`, where wrk measures submissions alone
 * (POST /v1/jobs) and, for comparison, the sync path (POST /v1/chat/completions); one with 16
 * in-process workers, where a driver submits N jobs and waits for all of them to finish.
 */
import { join } from "node:path";
import { jobsEndToEnd } from "../lib/driver-client.js";
import { baseGatewayConfig, fsType, ScenarioFleet } from "../lib/fleet.js";
import type { JobsResult } from "../lib/jobs-driver.js";
import { CHAT_BODY } from "../lib/measure.js";
import { cpuTimeUs } from "../lib/proc-stats.js";
import { stopOne } from "../lib/processes.js";
import { measureInterleaved, type WrkFigures } from "../lib/rounds.js";
import { fmtMs, fmtPct, progress, type ScenarioContext, type ScenarioResult } from "../lib/scenario.js";

const WORKERS = 16;
const CLIENTS = 16;
const JOB_BODY = JSON.stringify({ type: "chat.completion", request: JSON.parse(CHAT_BODY) as unknown });

function rows(
  sync: WrkFigures,
  submit: WrkFigures,
  e2e: JobsResult,
  e2eCpuBusy: number,
  normal: JobsResult,
): string[][] {
  const syncRps = sync.c16.rps;
  const ratio = (x: number) => `${x.toFixed(0)}/s (${fmtPct(x / syncRps)} of sync)`;
  return [
    [
      "sync chat completions, c16 (workers: 0)",
      `${syncRps.toFixed(0)}/s`,
      `p50 ${fmtMs(sync.c16.latencyUs.p50)} ms`,
    ],
    [
      "job submissions POST /v1/jobs, c16 (workers: 0)",
      ratio(submit.c16.rps),
      `p50 ${fmtMs(submit.c16.latencyUs.p50)} ms`,
    ],
    [
      `submissions while ${WORKERS} workers run (${e2e.submitted} jobs, ${CLIENTS} clients)`,
      ratio(e2e.submitsPerSecond),
      `${e2e.submitSeconds.toFixed(2)} s, ${e2e.submitErrors} errors`,
    ],
    [
      `completed jobs end to end (${WORKERS} workers)`,
      ratio(e2e.completedPerSecond),
      `${e2e.succeeded} SUCCESS, ${e2e.failed} FAILED in ${e2e.endToEndSeconds.toFixed(2)} s${e2e.timedOut ? " (TIMED OUT)" : ""}`,
    ],
    [
      `completed jobs end to end, store.synchronous: normal (not a target)`,
      ratio(normal.completedPerSecond),
      `${normal.succeeded} SUCCESS, ${normal.failed} FAILED in ${normal.endToEndSeconds.toFixed(2)} s${normal.timedOut ? " (TIMED OUT)" : ""}`,
    ],
    [
      "gateway CPU µs/request: sync / submit (c16)",
      `${sync.cpuUsPerRequest.toFixed(1)} / ${submit.cpuUsPerRequest.toFixed(1)}`,
      "",
    ],
    [
      "gateway CPU busy: sync / submit (c16) / end to end",
      `${fmtPct(sync.cpuBusy)} / ${fmtPct(submit.cpuBusy)} / ${fmtPct(e2eCpuBusy)}`,
      "below ~90%: the gateway waits (fsync, locks), not computes",
    ],
    ["errors (wrk runs)", String(sync.errors + submit.errors), ""],
  ];
}

export async function runJobsScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const fleet = new ScenarioFleet(ctx);
  try {
    progress("jobs: starting sim and two gateways (workers 0 and 16), SQLite in temp folders");
    const acceptDir = fleet.scratch("jobs-accept");
    const runDir = fleet.scratch("jobs-run");
    const sim = await fleet.sim("jobs-sim", "bench:instant");
    const base = baseGatewayConfig(sim.port);
    const accept = await fleet.gateway("jobs-accept", {
      ...base,
      store: { kind: "sqlite", path: join(acceptDir, "switchyard.db") },
      jobs: { workers: 0 },
    });
    const figures = await measureInterleaved(
      ctx,
      [
        { key: "sync", label: "sync path", port: accept.port, pid: accept.pid },
        {
          key: "submit",
          label: "job submissions",
          port: accept.port,
          pid: accept.pid,
          plan: { body: JOB_BODY, path: "/v1/jobs", status: 202 },
        },
      ],
      { body: CHAT_BODY, c1: false },
    );
    const worker = await fleet.gateway("jobs-run", {
      ...base,
      store: { kind: "sqlite", path: join(runDir, "switchyard.db") },
      jobs: { workers: WORKERS },
    });
    const timeoutSeconds = Math.max(60, ctx.opts.jobs / 50);
    progress(
      `jobs: end to end, ${ctx.opts.jobs} jobs from ${CLIENTS} clients, ${WORKERS} workers (≤ ${timeoutSeconds}s)`,
    );
    const cpuBefore = cpuTimeUs(worker.pid);
    const wallBefore = performance.now();
    const e2e = await jobsEndToEnd(ctx.root, ctx.pinning, {
      port: worker.port,
      count: ctx.opts.jobs,
      concurrency: CLIENTS,
      body: JOB_BODY,
      warmupSeconds: ctx.opts.warmupSeconds,
      timeoutSeconds,
    });
    // Over the whole driver run (warm-up batches and the final paging included): a rough figure.
    const e2eCpuBusy = (cpuTimeUs(worker.pid) - cpuBefore) / ((performance.now() - wallBefore) * 1000);
    await stopOne(worker);
    // For operators: the same run with `store.synchronous: normal` (not a target; see docs/jobs.md).
    const normalDir = fleet.scratch("jobs-run-normal");
    const normal = await fleet.gateway("jobs-run-normal", {
      ...base,
      store: { kind: "sqlite", path: join(normalDir, "switchyard.db"), synchronous: "normal" },
      jobs: { workers: WORKERS },
    });
    progress(`jobs: end to end again with store.synchronous: normal (${ctx.opts.jobs} jobs)`);
    const e2eNormal = await jobsEndToEnd(ctx.root, ctx.pinning, {
      port: normal.port,
      count: ctx.opts.jobs,
      concurrency: CLIENTS,
      body: JOB_BODY,
      warmupSeconds: ctx.opts.warmupSeconds,
      timeoutSeconds,
    });
    const s = figures.get("sync") as WrkFigures;
    const sub = figures.get("submit") as WrkFigures;
    return {
      section: "jobs",
      title: "Async jobs, embedded profile (issue 7)",
      notes: [
        `One instant sim; gateways on the test CPU with the SQLite store in ${fsType(acceptDir)} temp folders (WAL, synchronous=FULL).`,
        `Submissions and the sync path: wrk, ${ctx.opts.rounds} interleaved rounds of ${ctx.opts.seconds}s at c16 against a gateway with \`workers: 0\`.`,
        `End to end: ${ctx.opts.jobs} jobs (after ${ctx.opts.warmupSeconds}s of unreported warm-up batches) submitted by ${CLIENTS} clients to a gateway with`,
        `${WORKERS} in-process workers; completed/s = SUCCESS jobs ÷ (last finished_at − first submission).`,
        "Then the same end-to-end run on a fresh gateway with `store.synchronous: normal`, for comparison only.",
      ],
      table: { header: ["", "rate", "detail"], rows: rows(s, sub, e2e, e2eCpuBusy, e2eNormal) },
      checks: [
        {
          name: "job submissions per second (workers: 0, c16)",
          measured: sub.c16.rps.toFixed(0),
          limit: "≥ 2000",
          pass: sub.c16.rps >= 2000 && sub.errors === 0,
        },
        {
          name: "completed jobs per second end to end",
          measured: e2e.completedPerSecond.toFixed(0),
          limit: "≥ 1000",
          pass: e2e.completedPerSecond >= 1000 && !e2e.timedOut && e2e.succeeded === e2e.submitted,
        },
      ],
      data: {
        sync: s,
        submit: sub,
        endToEnd: e2e,
        endToEndCpuBusy: e2eCpuBusy,
        endToEndSynchronousNormal: e2eNormal,
        workers: WORKERS,
        clients: CLIENTS,
      },
    };
  } finally {
    await fleet.stop();
  }
}
