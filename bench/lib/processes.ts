import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** A long-lived child whose stdout and stderr go to a log file (no pipe for the bench to drain). */
export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  logPath: string;
}

export class StartError extends Error {}

const children = new Set<ChildProcess>();
let stopping = false;

/** True once Ctrl-C or SIGTERM has started tearing the run down (later failures are its echo). */
export function interrupted(): boolean {
  return stopping;
}

function track(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function startLogged(
  name: string,
  cmd: string,
  args: string[],
  logPath: string,
  cwd: string,
): Managed {
  const fd = openSync(logPath, "w");
  const child = spawn(cmd, args, { cwd, stdio: ["ignore", fd, fd], env: process.env });
  closeSync(fd);
  track(child);
  child.on("error", () => {}); // reported through waitForPort (the child exits)
  if (child.pid === undefined) throw new StartError(`${name}: could not spawn ${cmd}`);
  return { name, child, pid: child.pid, logPath };
}

function logTail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no log)";
  }
}

function findPort(text: string, msg: string): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.includes(msg)) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null) continue;
      const rec = parsed as Record<string, unknown>;
      if (rec.msg === msg && typeof rec.port === "number") return rec.port;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** Polls the child's log for the JSON line `{"msg": MSG, "port": N}` and returns N. */
export async function waitForPort(m: Managed, msg: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const port = findPort(readFileSync(m.logPath, "utf8"), msg);
    if (port !== undefined) return port;
    if (exited(m.child)) {
      throw new StartError(
        `${m.name} exited (code ${m.child.exitCode}) before '${msg}':\n${logTail(m.logPath)}`,
      );
    }
    await sleep(50);
  }
  throw new StartError(`${m.name} did not print '${msg}' within ${timeoutMs} ms:\n${logTail(m.logPath)}`);
}

export interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short-lived child to completion, capturing its output; killed if it outlives timeoutMs. */
export function runCaptured(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    track(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** SIGTERM every child still running, then SIGKILL what is left after graceMs. */
export async function stopAll(graceMs = 3000): Promise<void> {
  const live = [...children].filter((c) => !exited(c));
  for (const c of live) c.kill("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && live.some((c) => !exited(c))) await sleep(25);
  for (const c of live) if (!exited(c)) c.kill("SIGKILL");
}

/** Kills every child on exit, Ctrl-C and SIGTERM. */
export function installCleanup(): void {
  process.once("exit", () => {
    for (const c of children) if (!exited(c)) c.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stopping = true;
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      void stopAll(1000).finally(() => process.exit(130));
    });
  }
}

/** SIGTERM one child, SIGKILL it if it is still running after graceMs. */
export async function stopOne(m: Managed, graceMs = 3000): Promise<void> {
  if (exited(m.child)) return;
  m.child.kill("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && !exited(m.child)) await sleep(25);
  if (!exited(m.child)) m.child.kill("SIGKILL");
}
