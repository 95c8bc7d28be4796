/**
 * External tools the gRPC tests drive: grpcurl (built by scripts/install-test-deps.sh into
 * $(go env GOPATH)/bin), openssl and python3. When one is missing, `toolSkipReason` returns a
 * message for `describe(..., { skip })`, or throws when `CI` is set (CI must not skip).
 */
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function goBin(): string {
  const fromEnv = process.env.GOPATH?.split(delimiter)[0];
  if (fromEnv) return join(fromEnv, "bin");
  try {
    const out = execFileSync("go", ["env", "GOPATH"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    if (out.trim()) return join(out.trim().split(delimiter)[0]!, "bin");
  } catch {
    // no Go here: Go's default GOPATH
  }
  return join(homedir(), "go", "bin");
}

export function findGrpcurl(): string | undefined {
  const inGoBin = join(goBin(), "grpcurl");
  return executable(inGoBin) ? inGoBin : onPath("grpcurl");
}

export const GRPCURL = findGrpcurl();
export const OPENSSL = onPath("openssl");
export const PYTHON = onPath("python3");

/** undefined when `tool` is there; otherwise the reason to skip (or, with CI set, an error). */
export function toolSkipReason(tool: string | undefined, what: string, install: string): string | undefined {
  if (tool) return undefined;
  const msg = `${what} not found: ${install}`;
  if (process.env.CI) throw new Error(`${msg} (CI is set, so this is an error, not a skip)`);
  return msg;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`). */
export function run(cmd: string, args: string[], timeoutMs = 20_000, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input ?? "");
  });
}
