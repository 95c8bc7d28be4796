/**
 * Starts a real nats-server for a test: JetStream with file storage in a temp folder, a free port on
 * loopback; it can be killed, stopped and restarted on the same port and store folder.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort } from "./ports.js";

function goBin(): string | undefined {
  try {
    const path = execFileSync("go", ["env", "GOPATH"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return path.trim() ? join(path.trim().split(":")[0]!, "bin") : undefined;
  } catch {
    return join(homedir(), "go", "bin");
  }
}

function findNatsServer(): string | undefined {
  try {
    const onPath = execFileSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).trim();
    if (onPath) return onPath;
  } catch {
    // not on PATH: look in Go's bin folder
  }
  const dir = goBin();
  const candidate = dir ? join(dir, "nats-server") : undefined;
  return candidate && existsSync(candidate) ? candidate : undefined;
}

export const NATS_SERVER = findNatsServer();

const MISSING =
  "nats-server not found on PATH or in $(go env GOPATH)/bin: run scripts/install-test-deps.sh (the NATS queue tests need it)";

/**
 * True when nats-server can run. Otherwise skips the test with a clear message, or fails it when
 * `CI` is set (a CI run must exercise NATS).
 */
export function natsAvailable(t: TestContext): boolean {
  if (NATS_SERVER) return true;
  if (process.env.CI) assert.fail(`${MISSING}; CI is set, so this is a failure`);
  t.skip(MISSING);
  return false;
}

export interface NatsOptions {
  /** Require this user and password. */
  user?: string;
  password?: string;
  /** Extra lines for the server's config file (inside the `jetstream {}` block: `jetstream`). */
  jetstream?: string;
  /** Serve the monitoring endpoints (`/connz`, `/subsz`) on this loopback port. */
  monitorPort?: number;
}

export interface NatsProc {
  port: number;
  /** The monitoring URL (`http://127.0.0.1:<monitorPort>`) when `monitorPort` was given. */
  monitorUrl?: string;
  url: string;
  /** The JetStream store folder (kept across restarts). */
  dir: string;
  /** SIGKILLs the server and waits for it to exit (a crash: nothing is flushed on purpose). */
  kill(): Promise<void>;
  /** SIGTERMs the server and waits for it to exit (graceful shutdown). */
  stop(): Promise<void>;
  /** Starts the server again on the same port and store folder (kills a running one first). */
  restart(): Promise<void>;
  /**
   * SIGSTOPs the server and waits until it is stopped (state T): it hangs, connections stay open,
   * rather than dies. `resume` SIGCONTs it.
   */
  pause(): Promise<void>;
  resume(): void;
  /** Kills the server and removes its folder. */
  cleanup(): Promise<void>;
}

function writeConfig(dir: string, port: number, o: NatsOptions): string {
  const lines = [
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: "${join(dir, "js")}"\n${o.jetstream ?? ""}\n}`,
  ];
  if (o.monitorPort !== undefined) lines.push(`http: "127.0.0.1:${o.monitorPort}"`);
  if (o.user !== undefined) {
    lines.push(`authorization { user: "${o.user}", password: "${o.password ?? ""}" }`);
  }
  const file = join(dir, "nats.conf");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function spawnNats(conf: string): Promise<ChildProcess> {
  const proc = spawn(NATS_SERVER!, ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`nats-server not ready in 10 s: ${out}`));
    }, 10_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes("Server is ready")) {
        clearTimeout(timer);
        proc.off("exit", onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}: ${out}`));
    };
    proc.stderr!.on("data", onData);
    proc.stdout!.on("data", onData);
    proc.once("exit", onExit);
  });
  // Keep draining its output so the pipe never fills.
  proc.stderr!.resume();
  proc.stdout!.resume();
  return proc;
}

/** Starts nats-server with JetStream (file storage) on a free port; `cleanup()` it when done. */
export async function startNats(opts: NatsOptions = {}): Promise<NatsProc> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-nats-"));
  const port = await freePort();
  const conf = writeConfig(dir, port, opts);
  let proc: ChildProcess | undefined = await spawnNats(conf);
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
    port,
    url: `nats://127.0.0.1:${port}`,
    monitorUrl: opts.monitorPort === undefined ? undefined : `http://127.0.0.1:${opts.monitorPort}`,
    dir,
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
    async restart() {
      await end("SIGKILL");
      proc = await spawnNats(conf);
    },
    async pause() {
      const p = proc;
      if (!p?.pid) return;
      p.kill("SIGSTOP");
      // The signal stops every thread of the server; until all are stopped it may still answer.
      const stopped = (pid: number) =>
        readdirSync(`/proc/${pid}/task`).every((t) => {
          const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
          return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
        });
      for (let i = 0; i < 200; i++) {
        if (stopped(p.pid)) return;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error("nats-server did not stop within 1 s of SIGSTOP");
    },
    resume: () => proc?.kill("SIGCONT"),
    async cleanup() {
      await end("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
