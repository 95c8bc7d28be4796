import { join } from "node:path";
import { type Pinning, pinned } from "./pinning.js";
import { runCaptured } from "./processes.js";
import type { OpenLoopResult, StreamProbeResult } from "./types.js";

/** Runs bench/load-driver.ts as a child on the load CPU and returns the JSON line it prints. */
async function runDriver(root: string, pinning: Pinning, args: string[], seconds: number): Promise<unknown> {
  const nodeArgs = ["--import", "tsx", join(root, "bench", "load-driver.ts"), ...args];
  const [cmd, argv] = pinned(pinning, pinning.loadCpu, process.execPath, nodeArgs);
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
