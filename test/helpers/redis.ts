/** Starts a real redis-server for a test: free port, temp dir, no persistence unless asked; killed at the end. */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort } from "./ports.js";

export { freePort };

function findRedisServer(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const REDIS_SERVER = findRedisServer();

/**
 * True when redis-server can run. Otherwise skips the test with a clear message, or fails it when
 * `CI` is set (a CI run must exercise Redis).
 */
export function redisAvailable(t: TestContext): boolean {
  if (REDIS_SERVER) return true;
  const msg = "redis-server not installed: apt-get install -y redis-server (Redis store tests need it)";
  if (process.env.CI) assert.fail(`${msg}; CI is set, so this is a failure`);
  t.skip(msg);
  return false;
}

export interface RedisProc {
  port: number;
  url: string;
  /** SIGKILLs the server and waits for it to exit. */
  kill(): Promise<void>;
  /** SIGSTOPs / SIGCONTs the server (it hangs rather than dies). */
  pause(): void;
  resume(): void;
  /** Starts a new server on the same port. */
  restart(): Promise<void>;
  /** Kills the server and removes its folder. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Turns on the append-only file with this fsync policy (default: no persistence at all). */
  appendfsync?: "always" | "everysec";
  /** Serves TLS only (PEM files; clients are not asked for certificates); `url` is then `rediss://`. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

function persistenceArgs(opts: StartRedisOptions): string[] {
  if (!opts.appendfsync) return ["--appendonly", "no"];
  return ["--appendonly", "yes", "--appendfsync", opts.appendfsync];
}

function listenArgs(port: number, opts: StartRedisOptions): string[] {
  if (!opts.tls) return ["--port", String(port)];
  const t = opts.tls;
  return [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    t.certFile,
    "--tls-key-file",
    t.keyFile,
  ].concat(["--tls-ca-cert-file", t.caFile, "--tls-auth-clients", "no"]);
}

async function spawnRedis(port: number, dir: string, opts: StartRedisOptions = {}): Promise<ChildProcess> {
  const proc = spawn(
    REDIS_SERVER!,
    [...listenArgs(port, opts), "--bind", "127.0.0.1", "--save", "", ...persistenceArgs(opts), "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready in 5 s: ${out}`)), 5_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
  return proc;
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisProc> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-redis-"));
  const port = await freePort();
  let proc: ChildProcess | undefined = await spawnRedis(port, dir, opts);
  const kill = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  };
  return {
    port,
    url: `${opts.tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    kill,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    async restart() {
      await kill();
      proc = await spawnRedis(port, dir, opts);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
