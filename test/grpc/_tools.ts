/**
 * External tools the gRPC tests drive: grpcurl (built by scripts/install-test-deps.sh into
 * $(go env GOPATH)/bin), openssl and python3. When one is missing, `toolSkipReason` returns a
 * message for `describe(..., { skip })`, or throws when `CI` is set (CI must not skip).
 */
import { spawn } from "node:child_process";
import { findGoTool, findOnPath, skipReason } from "../helpers/binaries.js";

export function findGrpcurl(): string | undefined {
  return findGoTool("grpcurl");
}

export const GRPCURL = findGrpcurl();
export const OPENSSL = findOnPath("openssl");
export const PYTHON = findOnPath("python3");

/** undefined when `tool` is there; otherwise the reason to skip (or, with CI set, an error). */
export function toolSkipReason(tool: string | undefined, what: string, install: string): string | undefined {
  return tool ? undefined : skipReason(`${what} not found: ${install}`);
}

/**
 * undefined when python3 can import `module`; otherwise the reason to skip (or, with CI set, an
 * error) naming the package and how to install it.
 */
export async function pythonSkipReason(
  module: string,
  what: string,
  install: string,
): Promise<string | undefined> {
  const missing = toolSkipReason(PYTHON, "python3", "install Python 3");
  if (missing) return missing;
  const r = await run(PYTHON as string, ["-c", `import ${module}`]);
  return toolSkipReason(r.code === 0 ? "ok" : undefined, what, install);
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
