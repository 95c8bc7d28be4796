/**
 * Starts a real PostgreSQL server for a test: `initdb` into a temp folder, `postgres` on a free
 * loopback port (trust auth, unix socket in the temp folder), a fresh database. PostgreSQL refuses
 * to run as root, so under root the server runs as the `postgres` OS user.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort } from "./ports.js";

export { freePort };

function onPath(name: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The folder holding `initdb` and `postgres`: PATH first, then Debian's /usr/lib/postgresql/N/bin (newest). */
function findBinDir(): string | undefined {
  const initdb = onPath("initdb");
  if (initdb && onPath("postgres")) {
    try {
      // Debian links /usr/local/bin or /usr/bin entries to the versioned folder; resolve to it.
      const real = execFileSync("readlink", ["-f", initdb], { encoding: "utf8" }).trim();
      return join(real, "..");
    } catch {
      return join(initdb, "..");
    }
  }
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "initdb")) && existsSync(join(base, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(base, versions[0], "bin");
}

export const PG_BIN_DIR = findBinDir();

/**
 * True when PostgreSQL can run. Otherwise skips the test with a clear message, or fails it when
 * `CI` is set (a CI run must exercise PostgreSQL).
 */
export function postgresAvailable(t: TestContext): boolean {
  if (PG_BIN_DIR) return true;
  const msg =
    "PostgreSQL not installed (no initdb/postgres on PATH or in /usr/lib/postgresql/*/bin): " +
    "apt-get install -y postgresql (PostgreSQL store tests need it)";
  if (process.env.CI) assert.fail(`${msg}; CI is set, so this is a failure`);
  t.skip(msg);
  return false;
}

/** Under root, the uid/gid of the `postgres` OS user (the server refuses to run as root). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    throw new Error("running as root, but there is no 'postgres' OS user to run PostgreSQL as");
  }
}

const SERVER_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", LANG: "C", TZ: "UTC" };

export interface PostgresProc {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly socketDir: string;
  /** The database created for the test. */
  readonly database: string;
  /** `postgres://postgres@127.0.0.1:PORT/DB` (the test's database by default). */
  url(database?: string): string;
  /** Creates another empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one SQL statement as the superuser on the test's database (for inspection in tests). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
  /** Fast shutdown (SIGINT): aborts sessions, writes a checkpoint, waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILLs the postmaster and every backend (a crash): the next start runs crash recovery. */
  kill(): Promise<void>;
  /** SIGSTOPs / SIGCONTs the server and its backends: it hangs (connections stay open) rather than dies. */
  pause(): void;
  resume(): void;
  /** Starts the server again on the same port and data folder (after stop or kill). */
  restart(): Promise<void>;
  /** Kills the server and removes its folder. */
  cleanup(): Promise<void>;
}

const live = new Set<ChildProcess>();
// A crashed test run must not leave servers behind: the postmaster and its backends are killed here.
process.once("exit", () => {
  for (const p of live) killGroup(p);
});

/** Direct children of `pid` (PostgreSQL backends put themselves in sessions of their own, so a group signal misses them). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid …; comm may hold spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/** Signals the postmaster and every backend it started. */
function signalGroup(p: ChildProcess, signal: NodeJS.Signals): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const pids = [p.pid, ...childPids(p.pid)];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function killGroup(p: ChildProcess): void {
  signalGroup(p, "SIGCONT");
  signalGroup(p, "SIGKILL");
}

function initdb(binDir: string, dataDir: string, user: { uid: number; gid: number } | undefined): void {
  execFileSync(
    join(binDir, "initdb"),
    ["-D", dataDir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
    { env: SERVER_ENV, stdio: ["ignore", "ignore", "pipe"], ...(user ?? {}) },
  );
}

async function ready(port: number, proc: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`postgres exited (${proc.exitCode ?? proc.signalCode}): ${log()}`);
    }
    const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.query("SELECT 1");
      await c.end();
      return;
    } catch {
      await c.end().catch(() => {});
    }
    if (Date.now() > until) throw new Error(`postgres not ready in ${timeoutMs} ms: ${log()}`);
    await sleep(100);
  }
}

interface Running {
  proc: ChildProcess;
  log: () => string;
}

function spawnServer(
  binDir: string,
  dataDir: string,
  socketDir: string,
  port: number,
  user: { uid: number; gid: number } | undefined,
): Running {
  const args = [
    ...["-D", dataDir, "-p", String(port), "-k", socketDir],
    ...["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "shared_buffers=16MB"],
    ...["-c", "max_connections=60", "-c", "logging_collector=off", "-c", "log_min_messages=warning"],
  ];
  const proc = spawn(join(binDir, "postgres"), args, {
    env: SERVER_ENV,
    stdio: ["ignore", "ignore", "pipe"],
    ...(user ?? {}),
  });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  let out = "";
  proc.stderr!.on("data", (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  });
  return { proc, log: () => out };
}

async function waitExit(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise((r) => p.once("exit", r));
}

/** Starts PostgreSQL with one empty database (`switchyard_test` unless named). */
export async function startPostgres(opts: { database?: string } = {}): Promise<PostgresProc> {
  const binDir = PG_BIN_DIR;
  if (!binDir) throw new Error("PostgreSQL binaries not found (call postgresAvailable(t) first)");
  const user = serverUser();
  const root = mkdtempSync(join(tmpdir(), "switchyard-pg-"));
  const dataDir = join(root, "data");
  const socketDir = join(root, "sock");
  mkdirSync(socketDir, { mode: 0o700 });
  if (user) {
    chownSync(root, user.uid, user.gid);
    chownSync(socketDir, user.uid, user.gid);
  }
  const database = opts.database ?? "switchyard_test";
  const port = await freePort();
  let running: Running | undefined;
  const start = async () => {
    // After a kill, the old backends may take a moment to go; the new postmaster then refuses to
    // start on the data folder. Try again for a few seconds.
    for (let attempt = 0; ; attempt++) {
      const r = spawnServer(binDir, dataDir, socketDir, port, user);
      try {
        await ready(port, r.proc, r.log, 20_000);
        running = r;
        return;
      } catch (err) {
        killGroup(r.proc);
        await waitExit(r.proc);
        if (attempt >= 10) throw err;
        await sleep(300);
      }
    }
  };
  const admin = async <R extends pg.QueryResultRow>(db: string, text: string, values?: unknown[]) => {
    const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: db });
    c.on("error", () => {});
    await c.connect();
    try {
      return (await c.query<R>(text, values)).rows;
    } finally {
      await c.end();
    }
  };
  const kill = async () => {
    const r = running;
    running = undefined;
    if (!r) return;
    killGroup(r.proc);
    await waitExit(r.proc);
  };
  try {
    initdb(binDir, dataDir, user);
    await start();
    await admin("postgres", `CREATE DATABASE "${database}"`);
  } catch (err) {
    await kill();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const url = (db = database) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    host: "127.0.0.1",
    port,
    dataDir,
    socketDir,
    database,
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name '${name}'`);
      await admin("postgres", `CREATE DATABASE "${name}"`);
      return url(name);
    },
    sql: (text, values) => admin(database, text, values),
    async stop() {
      const r = running;
      running = undefined;
      if (!r) return;
      r.proc.kill("SIGINT");
      await waitExit(r.proc);
    },
    kill,
    pause() {
      if (running) signalGroup(running.proc, "SIGSTOP");
    },
    resume() {
      if (running) signalGroup(running.proc, "SIGCONT");
    },
    async restart() {
      await kill();
      await start();
    },
    async cleanup() {
      await kill();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
