import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stringify } from "yaml";

/** What `npm run build` writes: the compiled modules, and the bundled command line in `bin/`. */
export const DIST = join(import.meta.dirname, "..", "..", "dist");
/** The `switchyard` command (the bundle `npm start` and the package's `bin` run). */
export const CLI = join(DIST, "bin", "switchyard.js");

/** Creates an API key with the CLI (`switchyard keys create`) in the store at `db`; returns the key. */
export function createKey(db: string, name: string, models: string[]): string {
  const created = spawnSync(
    process.execPath,
    [CLI, "keys", "create", "--name", name, "--models", models.join(","), "--db", db, "--json"],
    { encoding: "utf8" },
  );
  assert.equal(created.status, 0, created.stderr);
  return (JSON.parse(created.stdout) as { key: string }).key;
}

export interface Running {
  proc: ChildProcess;
  port: number;
  /** The gateway's gRPC port, from the ready line's `grpcPort` (undefined when gRPC is off). */
  grpcPort: number | undefined;
  url: string;
  /** Every stdout line parsed as JSON (non-JSON lines are kept as `{raw}`). */
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Sends SIGTERM (or the given signal) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

const START_TIMEOUT_MS = 45_000;

/** Starts `switchyard ARGS` and waits for the JSON line whose msg is `readyMsg`, taking its `port`. */
export async function startCli(
  args: string[],
  readyMsg: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Running> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  let grpcPort: number | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    // Generous: on a loaded 2-core machine (two test files at a time, brokers starting) a start has
    // taken over 15 s. A process that never gets ready is killed, so it cannot outlive the test.
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      // What the process logged so far says how far its start got (stderr alone is often empty).
      const last = lines.slice(-5).map((l) => JSON.stringify(l));
      reject(
        new Error(
          `${readyMsg} not seen within ${START_TIMEOUT_MS / 1000} s; stderr: ${err}; last stdout lines:\n${last.join("\n")}`,
        ),
      );
    }, START_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { raw: line };
      }
      lines.push(rec);
      if (rec.msg === readyMsg && typeof rec.port === "number") {
        clearTimeout(timer);
        if (typeof rec.grpcPort === "number") grpcPort = rec.grpcPort;
        resolve(rec.port);
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with ${code} before ${readyMsg}; stderr: ${err}`));
    });
  });
  return {
    proc,
    port,
    grpcPort,
    url: `http://127.0.0.1:${port}`,
    lines,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export function startSim(extra: string[] = []): Promise<Running> {
  return startCli(["sim", "--port", "0", "--host", "127.0.0.1", ...extra], "sim listening");
}

/** Writes a config object as YAML to a temp folder and starts a gateway on it. */
export function startGateway(config: unknown, env: NodeJS.ProcessEnv = {}): Promise<Running> {
  // Each gateway gets its own SQLite file (keys, jobs) unless the test names one.
  const withStore =
    config && typeof config === "object" && !("store" in config)
      ? {
          ...(config as Record<string, unknown>),
          store: { path: join(mkdtempSync(join(tmpdir(), "switchyard-db-")), "db.sqlite") },
        }
      : config;
  const file = writeTempConfig(withStore);
  // Many gateways run at once: the gRPC listener takes a free port unless the config names one.
  const grpc = (config as { grpc?: { port?: unknown } } | null)?.grpc;
  const grpcFlag = typeof config === "object" && typeof grpc?.port === "number" ? [] : ["--grpc-port", "0"];
  return startCli(
    ["serve", "--config", file, "--port", "0", "--host", "127.0.0.1", ...grpcFlag],
    "switchyard listening",
    env,
  );
}

export function writeTempConfig(config: unknown, name = "switchyard.yaml"): string {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-test-"));
  const file = join(dir, name);
  writeFileSync(file, typeof config === "string" ? config : stringify(config));
  return file;
}

/** A gateway config with one chat model `chat` (and `embed`) in front of a sim at `simUrl`. */
export function configFor(simUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    logging: { level: "info" },
    models: {
      "sim-small": { endpoints: [{ kind: "openai", url: `${simUrl}/v1` }] },
      "sim-embed": { type: "embedding", endpoints: [{ kind: "openai", url: `${simUrl}/v1` }] },
    },
    ...extra,
    // A free gRPC port, so many gateways can run at once (a test's own `grpc` settings are kept).
    grpc: { port: 0, ...((extra.grpc as Record<string, unknown> | undefined) ?? {}) },
  };
}
