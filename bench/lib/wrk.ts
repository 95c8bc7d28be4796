import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type Pinning, pinned } from "./pinning.js";
import { runCaptured } from "./processes.js";
import type { WrkResult } from "./types.js";

export interface WrkRun {
  port: number;
  connections: number;
  seconds: number;
  body: string;
  fault?: string;
  /** Request path; `/v1/chat/completions` unless given. */
  path?: string;
  /** Sent as `authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

interface WrkJson {
  requests: number;
  duration_us: number;
  errors: WrkResult["errors"];
  latency_us: { p50: number; p90: number; p99: number; max: number };
}

export function wrkVersion(): string {
  try {
    execFileSync("wrk", ["--version"], { encoding: "utf8", stdio: "pipe" });
  } catch (err) {
    // wrk --version prints its banner and exits 1
    const out = String((err as { stdout?: unknown }).stdout ?? "");
    const first = out.split("\n")[0]?.trim();
    if (first) return first;
    throw new Error("wrk is not installed (Debian: apt-get install -y wrk)");
  }
  return "wrk";
}

function parseWrk(stdout: string, stderr: string, connections: number): WrkResult {
  const line = stdout.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!line) throw new Error(`wrk printed no BENCH_JSON line:\n${stdout}\n${stderr}`);
  const j = JSON.parse(line.slice("BENCH_JSON ".length)) as WrkJson;
  const lat = j.latency_us;
  return {
    connections,
    requests: j.requests,
    durationUs: j.duration_us,
    rps: j.requests / (j.duration_us / 1e6),
    errors: j.errors,
    latencyUs: { p50: lat.p50, p90: lat.p90, p99: lat.p99, max: lat.max, count: j.requests },
  };
}

/** One closed-loop wrk run (one thread, `connections` connections): POST /v1/chat/completions or `run.path`. */
export async function runWrk(run: WrkRun, pinning: Pinning, benchDir: string): Promise<WrkResult> {
  const url = `http://127.0.0.1:${run.port}${run.path ?? "/v1/chat/completions"}`;
  const args = [
    "-t1",
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    "--timeout",
    "5s",
    "-s",
    join(benchDir, "wrk", "chat.lua"),
    url,
  ];
  const [cmd, argv] = pinned(pinning, pinning.loadCpu, "wrk", args);
  const env = {
    ...process.env,
    BENCH_BODY: run.body,
    BENCH_FAULT: run.fault ?? "",
    BENCH_KEY: run.apiKey ?? "",
  };
  const out = await runCaptured(cmd, argv, { cwd: benchDir, env, timeoutMs: (run.seconds + 30) * 1000 });
  if (out.code !== 0) throw new Error(`wrk exited with ${out.code}:\n${out.stderr}`);
  return parseWrk(out.stdout, out.stderr, run.connections);
}
