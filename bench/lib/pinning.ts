import { execFileSync, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

/**
 * CPU placement. With taskset and at least two CPUs, the process under test (reference proxy or
 * gateway) runs alone on `testCpu`; the sim, the load generators and the orchestrator share `loadCpu`.
 */
export interface Pinning {
  enabled: boolean;
  loadCpu: number;
  testCpu: number;
}

export function detectPinning(disabled: boolean): Pinning {
  const none: Pinning = { enabled: false, loadCpu: 0, testCpu: 1 };
  if (disabled || availableParallelism() < 2) return none;
  const probe = spawnSync("taskset", ["--version"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) return none;
  return { enabled: true, loadCpu: 0, testCpu: 1 };
}

/** Wraps a command in `taskset -c CPU` (taskset execs, so the pid stays the command's). */
export function pinned(pinning: Pinning, cpu: number, cmd: string, args: string[]): [string, string[]] {
  if (!pinning.enabled) return [cmd, args];
  return ["taskset", ["-c", String(cpu), cmd, ...args]];
}

/** Moves a running process and all its threads to one CPU. */
export function repin(pinning: Pinning, pid: number, cpu: number): void {
  if (!pinning.enabled) return;
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
}
