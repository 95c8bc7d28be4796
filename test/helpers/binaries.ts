/**
 * Finding the external programs the tests drive (servers, CLIs) and saying what to do when one is
 * missing: `skipReason` gives the message for `describe(..., { skip })`, or throws when `CI` is set
 * (CI installs every tool, so a missing one there is a broken setup, not a skip).
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` in a folder of `PATH`. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Where `go install` puts programs: `$GOPATH/bin`, else `$(go env GOPATH)/bin`, else `~/go/bin`. */
export function goBin(): string {
  const fromEnv = process.env.GOPATH?.split(delimiter)[0];
  if (fromEnv) return join(fromEnv, "bin");
  try {
    const out = execFileSync("go", ["env", "GOPATH"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const first = out.trim().split(delimiter)[0];
    if (first) return join(first, "bin");
  } catch {
    // no Go on this machine: fall back to Go's default GOPATH
  }
  return join(homedir(), "go", "bin");
}

/** `name` as `go install` (scripts/install-test-deps.sh) built it, else from `PATH`. */
export function findGoTool(name: string): string | undefined {
  const inGoBin = join(goBin(), name);
  return isExecutable(inGoBin) ? inGoBin : findOnPath(name);
}

/** The reason to skip for `describe(..., { skip })`; with `CI` set, throws it instead. */
export function skipReason(msg: string): string {
  if (process.env.CI) throw new Error(`${msg} (CI is set, so this is an error, not a skip)`);
  return msg;
}
