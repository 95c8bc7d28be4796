#!/usr/bin/env node
// `npm test`: type check, lint, import-cycle check, build, then every test file under test/.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { checkCycles } from "./check-cycles.mjs";

function run(cmd, args, label) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: "inherit", env: process.env });
  process.stdout.write(
    `# ${label}: ${r.status === 0 ? "ok" : "FAILED"} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
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
  run("npx", ["tsc", "--noEmit", "-p", "tsconfig.test.json"], "typecheck");
  run("npx", ["biome", "check", "."], "lint");
  const cycles = checkCycles("src");
  if (cycles.length > 0) {
    process.stderr.write(`import cycles:\n${cycles.map((c) => `  ${c.join(" -> ")}`).join("\n")}\n`);
    process.exit(1);
  }
  process.stdout.write("# import cycles: none\n");
}
run("npx", ["tsc", "-p", "tsconfig.build.json"], "build");
const files = only.length > 0 ? only : testFiles("test");
// One test file at a time: many files start real servers and measure latencies, and two of them
// sharing the 2 cores of a CI machine would measure each other.
run(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  "tests",
);
