/**
 * Starts a real nsqd (and nsqlookupd) for a test: free TCP and HTTP ports on loopback and a data
 * folder in a temp directory; nsqd can be killed, stopped and restarted on the same ports and data.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./ports.js";

function goBin(): string {
  try {
    const path = execFileSync("go", ["env", "GOPATH"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return join(path ? path.split(":")[0]! : join(homedir(), "go"), "bin");
  } catch {
    return join(homedir(), "go", "bin");
  }
}

function find(name: string): string | undefined {
  try {
    const onPath = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    if (onPath) return onPath;
  } catch {
    // not on PATH: look in Go's bin folder
  }
  const candidate = join(goBin(), name);
  return existsSync(candidate) ? candidate : undefined;
}

export const NSQD = find("nsqd");
export const NSQLOOKUPD = find("nsqlookupd");

const MISSING =
  "nsqd / nsqlookupd not found on PATH or in $(go env GOPATH)/bin: run scripts/install-test-deps.sh (the NSQ queue tests need them)";

/**
 * True when nsqd and nsqlookupd can run. Otherwise skips the test with a clear message, or fails it
 * when `CI` is set (a CI run must exercise NSQ).
 */
export function nsqAvailable(t: TestContext): boolean {
  if (NSQD && NSQLOOKUPD) return true;
  if (process.env.CI) assert.fail(`${MISSING}; CI is set, so this is a failure`);
  t.skip(MISSING);
  return false;
}

export interface NsqdOptions {
  /** `--mem-queue-size` (nsqd's default is 10000; 0 writes every message to disk). */
  memQueueSize?: number;
  /** nsqlookupd TCP addresses to register with. */
  lookupd?: string[];
  /** More nsqd flags. */
  args?: string[];
}

export interface Daemon {
  /** SIGKILLs the process and waits for it to exit (a crash: nothing is flushed on purpose). */
  kill(): Promise<void>;
  /** SIGTERMs the process and waits for it to exit (graceful shutdown). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data folder (kills a running one first). */
  restart(): Promise<void>;
  /** Kills it and removes its folder. */
  cleanup(): Promise<void>;
}

export interface NsqdProc extends Daemon {
  tcpAddress: string;
  httpAddress: string;
  dir: string;
}

export interface LookupdProc extends Daemon {
  tcpAddress: string;
  httpAddress: string;
}

async function spawnReady(bin: string, args: string[], httpAddress: string): Promise<ChildProcess> {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const collect = (d: Buffer) => {
    out = (out + d.toString()).slice(-4_000);
  };
  proc.stdout!.on("data", collect);
  proc.stderr!.on("data", collect);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${bin} exited with ${proc.exitCode ?? proc.signalCode}: ${out}`);
    }
    try {
      const res = await fetch(`http://${httpAddress}/ping`, { signal: AbortSignal.timeout(500) });
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`${bin} not ready in 10 s: ${out}`);
    }
    await sleep(50);
  }
}

function daemon(start: () => Promise<ChildProcess>, first: ChildProcess, onCleanup: () => void): Daemon {
  let proc: ChildProcess | undefined = first;
  const end = async (signal: NodeJS.Signals) => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill(signal);
    const forced = setTimeout(() => p.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(forced);
  };
  return {
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
    async restart() {
      await end("SIGKILL");
      proc = await start();
    },
    async cleanup() {
      await end("SIGKILL");
      onCleanup();
    },
  };
}

/** Starts nsqd on free ports with its data in a temp folder; `cleanup()` it when done. */
export async function startNsqd(opts: NsqdOptions = {}): Promise<NsqdProc> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-nsqd-"));
  const tcpAddress = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const args = [
    `--tcp-address=${tcpAddress}`,
    `--http-address=${httpAddress}`,
    "--https-address=",
    `--data-path=${dir}`,
    "--broadcast-address=127.0.0.1",
    "--log-level=warn",
    // nsqd checks 20 random channels per 100 ms for due deferred and timed-out messages; tests make
    // many topics, so check them all each time (docs/queue-nsq.md, delay precision).
    "--queue-scan-selection-count=1000",
    ...(opts.memQueueSize === undefined ? [] : [`--mem-queue-size=${opts.memQueueSize}`]),
    ...(opts.lookupd ?? []).map((a) => `--lookupd-tcp-address=${a}`),
    ...(opts.args ?? []),
  ];
  const start = () => spawnReady(NSQD!, args, httpAddress);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const first = await start().catch((err: unknown) => {
    remove();
    throw err;
  });
  const d = daemon(start, first, remove);
  return { ...d, tcpAddress, httpAddress, dir };
}

/** Starts nsqlookupd on free ports. */
export async function startNsqlookupd(): Promise<LookupdProc> {
  const tcpAddress = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const args = [
    `--tcp-address=${tcpAddress}`,
    `--http-address=${httpAddress}`,
    "--broadcast-address=127.0.0.1",
    "--log-level=warn",
  ];
  const start = () => spawnReady(NSQLOOKUPD!, args, httpAddress);
  const d = daemon(start, await start(), () => {});
  return { ...d, tcpAddress, httpAddress };
}

/**
 * nsqd learns of new channels for its deferred / in-flight timeout scan only every 5 s (not a flag),
 * so a channel younger than that holds REQ'd and deferred messages longer. Tests that time delays
 * create their topics and channel up front with this and wait out one refresh.
 */
export async function warmTopics(
  httpAddress: string,
  topics: readonly string[],
  channel: string,
): Promise<void> {
  for (const t of topics) {
    const topic = encodeURIComponent(t);
    for (const path of [
      `/topic/create?topic=${topic}`,
      `/channel/create?topic=${topic}&channel=${channel}`,
    ]) {
      const res = await fetch(`http://${httpAddress}${path}`, {
        method: "POST",
        signal: AbortSignal.timeout(5_000),
      });
      assert.ok(res.ok, `${path}: ${res.status}`);
      await res.arrayBuffer();
    }
  }
  await sleep(5_300);
}
