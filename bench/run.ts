/**
 * `npm run bench`: one run that measures, side by side, direct to the sim, through the reference
 * proxy and through the gateway (section `core`), then the scenarios of issues 3, 5, 6 and 7 (`auth`,
 * `affinity`, `observability`, `jobs`), dynamic batching (`batching`) and the distributed profile's
 * queues (`distributed`) and the gRPC front door against the HTTP one (`grpc`; choose with
 * --only / --skip); prints a markdown report and
 * writes bench/results/latest.json. It reports and never gates: exit 0 even when a target fails,
 * 1 when a process cannot start.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchOptions, parseOptions, type Section, USAGE } from "./lib/args.js";
import { buildChecks, type Trio } from "./lib/checks.js";
import {
  checkTarget,
  type MeasureContext,
  type MeasureTarget,
  measureClosedLoop,
  measureOpenLoop,
} from "./lib/measure.js";
import { detectPinning, repin } from "./lib/pinning.js";
import { backgroundCpuShare, clockTicksPerSecond, peakRssMb } from "./lib/proc-stats.js";
import { installCleanup, interrupted, StartError, stopAll, stopOne } from "./lib/processes.js";
import { renderMarkdown } from "./lib/report.js";
import type { ScenarioContext, ScenarioResult } from "./lib/scenario.js";
import { type Fleet, startFleet } from "./lib/targets.js";
import type { BenchReport, TargetResult } from "./lib/types.js";
import { wrkVersion } from "./lib/wrk.js";
import { runAffinityScenario } from "./scenarios/affinity.js";
import { runAuthScenario } from "./scenarios/auth.js";
import { runBatchingScenario } from "./scenarios/batching.js";
import { runDistributedScenario } from "./scenarios/distributed.js";
import { runGrpcScenario } from "./scenarios/grpc.js";
import { runJobsScenario } from "./scenarios/jobs.js";
import { runObservabilityScenario } from "./scenarios/observability.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = join(ROOT, "bench", "results");

function targetsOf(fleet: Fleet): MeasureTarget[] {
  return [
    { name: "direct", label: "direct", port: fleet.sim.port, pid: fleet.sim.pid, processUnderTest: "sim" },
    {
      name: "reference",
      label: "reference proxy",
      port: fleet.reference.port,
      pid: fleet.reference.pid,
      processUnderTest: "proxy",
    },
    {
      name: "gateway",
      label: "gateway",
      port: fleet.gateway.port,
      pid: fleet.gateway.pid,
      processUnderTest: "switchyard",
    },
  ];
}

async function measureAll(targets: MeasureTarget[], ctx: MeasureContext): Promise<TargetResult[]> {
  for (const t of targets) await checkTarget(t);
  const results: TargetResult[] = [];
  for (const t of targets) results.push({ ...(await measureClosedLoop(t, ctx)), peakRssMb: 0 });
  const slowest = Math.min(...results.map((r) => r.c16.rps));
  const rate =
    ctx.opts.openLoopRate ?? Math.max(10, Math.round((slowest * ctx.opts.openLoopFraction) / 10) * 10);
  for (const [i, t] of targets.entries()) {
    const r = results[i];
    if (r) r.openLoop = await measureOpenLoop(t, ctx, rate);
  }
  for (const [i, t] of targets.entries()) {
    const r = results[i];
    if (r) r.peakRssMb = peakRssMb(t.pid);
  }
  return results;
}

const SCENARIOS: Record<Exclude<Section, "core">, (ctx: ScenarioContext) => Promise<ScenarioResult>> = {
  auth: runAuthScenario,
  affinity: runAffinityScenario,
  observability: runObservabilityScenario,
  jobs: runJobsScenario,
  batching: runBatchingScenario,
  distributed: runDistributedScenario,
  grpc: runGrpcScenario,
};

/** The three-target comparison: start the fleet, measure, stop it (the scenarios start their own). */
async function runCore(ctx: Omit<MeasureContext, "simPid">): Promise<TargetResult[]> {
  const fleet = await startFleet({ root: ROOT, logDir: join(RESULTS, "logs") }, ctx.pinning);
  try {
    return await measureAll(targetsOf(fleet), { ...ctx, simPid: fleet.sim.pid });
  } finally {
    await Promise.all([fleet.gateway, fleet.reference, fleet.sim].map((m) => stopOne(m)));
  }
}

/** Runs the chosen scenarios one after another; one that fails is reported and the rest still run. */
async function runScenarios(
  ctx: ScenarioContext,
): Promise<{ done: Record<string, ScenarioResult>; failed: Record<string, string> }> {
  const done: Record<string, ScenarioResult> = {};
  const failed: Record<string, string> = {};
  for (const section of ctx.opts.sections) {
    if (section === "core") continue;
    try {
      done[section] = await SCENARIOS[section](ctx);
    } catch (err) {
      if (interrupted()) throw err;
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`bench: ${section} failed: ${message}\n`);
      failed[section] = message;
    }
  }
  return { done, failed };
}

function buildReport(
  startedAt: Date,
  opts: BenchOptions,
  pinned: boolean,
  targets: TargetResult[],
): BenchReport {
  const [direct, reference, gateway] = targets;
  const checks =
    direct && reference && gateway ? buildChecks({ direct, reference, gateway } satisfies Trio) : [];
  const { out: _out, openLoopRate, sections, ...settings } = opts;
  return {
    startedAt: startedAt.toISOString(),
    machine: {
      cpus: availableParallelism(),
      pinned,
      node: process.version,
      wrk: wrkVersion(),
      clockTicksPerSecond: clockTicksPerSecond(),
    },
    settings: { ...settings, openLoopRate: targets[0]?.openLoop?.rate ?? openLoopRate ?? 0 },
    sections: [...sections],
    targets,
    checks,
    scenarios: {},
  };
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2), join(RESULTS, "latest.json"));
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  installCleanup();
  wrkVersion();
  const pinning = detectPinning(opts.noPin);
  repin(pinning, process.pid, pinning.loadCpu);
  const startedAt = new Date();
  const background = await backgroundCpuShare(1000);
  if (background > 0.05) {
    const pct = (background * 100).toFixed(0);
    process.stderr.write(
      `bench: WARNING: the machine is already ${pct}% busy before the bench starts; figures will be noisy\n`,
    );
  }
  const logDir = join(RESULTS, "logs");
  mkdirSync(logDir, { recursive: true });
  const results = opts.sections.includes("core") ? await runCore({ root: ROOT, pinning, opts }) : [];
  const { done, failed } = await runScenarios({ root: ROOT, pinning, opts, logDir });
  const report = buildReport(startedAt, opts, pinning.enabled, results);
  report.machine.backgroundCpuPct = Math.round(background * 1000) / 10;
  report.scenarios = done;
  if (Object.keys(failed).length > 0) report.failedScenarios = failed;
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(renderMarkdown(report));
  process.stderr.write(`bench: wrote ${opts.out}\n`);
  return Object.keys(failed).length > 0 ? 1 : 0;
}

main()
  .then(
    (code) => code,
    (err: unknown) => {
      if (interrupted()) return 130;
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`bench: ${err instanceof StartError ? "" : "failed: "}${message}\n`);
      return 1;
    },
  )
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  });
