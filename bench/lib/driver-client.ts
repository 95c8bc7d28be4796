import { join } from "node:path";
import type { AffinityResult } from "./affinity-driver.js";
import type { JobsResult } from "./jobs-driver.js";
import { type Pinning, pinned } from "./pinning.js";
import { runCaptured } from "./processes.js";
import type { OpenLoopResult, Percentiles, StreamProbeResult } from "./types.js";

/** Runs bench/load-driver.ts as a child (on the load CPU unless told) and returns the JSON line it prints. */
async function runDriver(
  root: string,
  pinning: Pinning,
  args: string[],
  seconds: number,
  cpu = pinning.loadCpu,
): Promise<unknown> {
  const nodeArgs = ["--import", "tsx", join(root, "bench", "load-driver.ts"), ...args];
  const [cmd, argv] = pinned(pinning, cpu, process.execPath, nodeArgs);
  const out = await runCaptured(cmd, argv, { cwd: root, timeoutMs: (seconds + 60) * 1000 });
  const line = out.stdout.trim().split("\n").pop() ?? "";
  if (out.code !== 0 || !line.startsWith("{")) {
    throw new Error(`load-driver ${args[0]} failed (exit ${out.code}):\n${out.stderr}${out.stdout}`);
  }
  return JSON.parse(line);
}

export interface OpenLoopRun {
  port: number;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  body: string;
}

export async function openLoop(root: string, pinning: Pinning, run: OpenLoopRun): Promise<OpenLoopResult> {
  const args = [
    "open-loop",
    "--port",
    String(run.port),
    "--rate",
    String(run.rate),
    "--seconds",
    String(run.seconds),
  ];
  args.push("--warmup", String(run.warmupSeconds), "--body", run.body);
  return (await runDriver(root, pinning, args, run.seconds + run.warmupSeconds)) as OpenLoopResult;
}

export interface StreamRun {
  port: number;
  concurrency: number;
  seconds: number;
  itlMs: number;
  maxTokens: number;
}

export async function streamProbe(
  root: string,
  pinning: Pinning,
  run: StreamRun,
): Promise<StreamProbeResult> {
  const args = [
    "stream",
    "--port",
    String(run.port),
    "--concurrency",
    String(run.concurrency),
    "--seconds",
    String(run.seconds),
    "--itl",
    String(run.itlMs),
    "--max-tokens",
    String(run.maxTokens),
  ];
  return (await runDriver(root, pinning, args, run.seconds)) as StreamProbeResult;
}

export interface AffinityRun {
  port: number;
  model: string;
  prompts: number;
  rounds: number;
  phraseRepeats: number;
}

export async function affinityWorkload(
  root: string,
  pinning: Pinning,
  run: AffinityRun,
): Promise<AffinityResult> {
  const args = [
    "affinity",
    "--port",
    String(run.port),
    "--model",
    run.model,
    "--prompts",
    String(run.prompts),
  ];
  args.push("--rounds", String(run.rounds), "--repeats", String(run.phraseRepeats));
  return (await runDriver(root, pinning, args, 120)) as AffinityResult;
}

export interface JobsRun {
  port: number;
  count: number;
  concurrency: number;
  body: string;
  timeoutSeconds: number;
  warmupSeconds: number;
}

export async function jobsEndToEnd(root: string, pinning: Pinning, run: JobsRun): Promise<JobsResult> {
  const args = ["jobs", "--port", String(run.port), "--count", String(run.count)];
  args.push("--concurrency", String(run.concurrency), "--body", run.body);
  args.push("--seconds", String(run.timeoutSeconds), "--warmup", String(run.warmupSeconds));
  // The warm-up's last batch may run up to its own timeout past the warm-up time.
  const limit = 2 * run.timeoutSeconds + run.warmupSeconds;
  return (await runDriver(root, pinning, args, limit)) as JobsResult;
}

/** Sequential PINGs through ioredis from a Node child on `cpu` (the gateway's CPU: its path to Redis). */
export async function redisPing(
  root: string,
  pinning: Pinning,
  port: number,
  cpu: number,
): Promise<{ rttUs: Percentiles }> {
  const args = ["redis-ping", "--port", String(port), "--count", "2000"];
  return (await runDriver(root, pinning, args, 30, cpu)) as { rttUs: Percentiles };
}
