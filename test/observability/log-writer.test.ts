/**
 * The gateway's stdout writer under a busy libuv thread pool: a line logged while an earlier write
 * is still in flight must reach stdout soon after, not wait for the process to exit. Scripts and
 * supervisors wait for the "switchyard listening" line; a gateway that keeps it unwritten looks
 * like one that never started.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

const LOGGER = pathToFileURL(
  join(import.meta.dirname, "..", "..", "dist", "observability", "logger.js"),
).href;

// One pool thread, kept busy by one pbkdf2 sized to ~600 ms: the first line's write (started by the
// 100 ms drain) waits behind it; the second line is logged at 150 ms, while that write is in flight.
// The process lives 1.5 s after the pool frees, then exits (and exiting writes whatever is left).
const CHILD = `
import { pbkdf2, pbkdf2Sync } from "node:crypto";
const { createLogging } = await import(${JSON.stringify(LOGGER)});
let t = performance.now();
pbkdf2Sync("x", "y", 20000, 32, "sha256");
const iterations = Math.ceil((20000 * 600) / Math.max(1, performance.now() - t));
const { logger } = createLogging({ level: "info" });
logger.info("first");
pbkdf2("x", "y", iterations, 32, "sha256", () => {
  process.stderr.write("pool free\\n");
  setTimeout(() => process.stderr.write("exiting\\n"), 1500);
});
setTimeout(() => logger.info("second"), 150);
`;

test("a line logged while a write is in flight reaches stdout before the process exits", async () => {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
    env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: string[] = [];
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    for (const msg of ["first", "second"]) {
      if (out.includes(`"msg":"${msg}"`) && !events.includes(msg)) events.push(msg);
    }
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
    for (const ev of ["pool free", "exiting"]) {
      if (err.includes(ev) && !events.includes(ev)) events.push(ev);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, `child failed: ${err}`);
  assert.ok(events.includes("pool free"), `the pool never freed: ${err}`);
  assert.ok(events.includes("second"), `"second" never written; stdout: ${out}`);
  assert.ok(
    events.indexOf("second") < events.indexOf("exiting"),
    `"second" waited for the exit (order seen: ${events.join(", ")})`,
  );
  assert.ok(events.indexOf("first") < events.indexOf("second"), `lines out of order: ${events.join(", ")}`);
});
