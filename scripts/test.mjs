#!/usr/bin/env node
// `npm test`: type check, lint, import-cycle check, build, then every test file under test/.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkCycles } from "./check-cycles.mjs";

/** Runs a step; stops everything at its failure unless `keepGoing` (then the failure is returned). */
function run(cmd, args, label, keepGoing = false, env = process.env) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  process.stdout.write(
    `# ${label}: ${r.status === 0 ? "ok" : "FAILED"} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  if (r.status !== 0 && !keepGoing) process.exit(r.status ?? 1);
  return r.status === 0;
}

/** Runs a step in the background; resolves with whether it passed (its output is printed when it ends). */
function runAsync(cmd, args, label) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    const out = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => out.push(d));
    child.on("close", (code) => {
      process.stdout.write(Buffer.concat(out));
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`# ${label}: ${code === 0 ? "ok" : "FAILED"} (${secs} s)\n`);
      resolve(code === 0);
    });
  });
}

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
if (only.length === 0) {
  const cycles = checkCycles("src");
  if (cycles.length > 0) {
    process.stderr.write(`import cycles:\n${cycles.map((c) => `  ${c.join(" -> ")}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("# import cycles: none\n");
  // The type check (tests included) and the build each use about one core: side by side.
  const checks = await Promise.all([
    runAsync("npx", ["tsc", "--noEmit", "-p", "tsconfig.test.json"], "typecheck"),
    runAsync("npm", ["run", "--silent", "build"], "build"),
  ]);
  if (!checks.every(Boolean)) process.exit(1);
  run("npx", ["biome", "check", "."], "lint");
} else {
  run("npm", ["run", "--silent", "build"], "build");
}
const files = only.length > 0 ? only : testFiles("test");

// Files that measure latencies, shares or timings tight enough that another test file running beside
// them on a 2-core machine would move their figures: they run one at a time, after the rest.
const TIMING = [
  "test/balancing/",
  "test/routing/",
  "test/limits/",
  "test/e2e/",
  "test/sim/",
  "test/batching/",
  "test/pipeline/run.test.ts",
];
const timing = (f) => TIMING.some((t) => f.replaceAll("\\", "/").startsWith(t));
// Failed tests are collected here by scripts/file-times.mjs and repeated at the very end.
const failuresDir = mkdtempSync(join(tmpdir(), "switchyard-test-"));
const failuresFile = join(failuresDir, "failures.txt");
const testEnv = { ...process.env, SWITCHYARD_TEST_FAILURES: failuresFile };
const node = (concurrency, list, label) =>
  list.length === 0 ||
  run(
    process.execPath,
    [
      "--import",
      "tsx",
      "--test",
      `--test-concurrency=${concurrency}`,
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=./scripts/file-times.mjs",
      "--test-reporter-destination=stdout",
      ...list,
    ],
    label,
    true,
    testEnv,
  );
let ok;
if (only.length > 0) {
  ok = node(1, files, "tests");
} else {
  // The rest mostly wait on real servers, brokers and killed processes: two files at a time.
  const rest = node(
    2,
    files.filter((f) => !timing(f)),
    "tests (two files at a time)",
  );
  ok = node(1, files.filter(timing), "timing-sensitive tests (one file at a time)") && rest;
}
let failures = "";
try {
  failures = readFileSync(failuresFile, "utf8");
} catch {}
rmSync(failuresDir, { recursive: true, force: true });
if (failures) process.stdout.write(`# failed tests (all steps):\n${failures}`);
process.exit(ok ? 0 : 1);
