// A test reporter for `npm test`: at the end of a run, the slowest test files (sum of their top-level
// tests), so the suite's time budget stays visible. When SWITCHYARD_TEST_FAILURES names a file, every
// failed test (file, name, first lines of its error) is appended to it, so `npm test` can repeat the
// failures as the last thing it prints — CI logs often keep only their tail.
import { appendFileSync } from "node:fs";

function errorText(error) {
  const lines = [];
  // The runner wraps what the test threw: show that, and what caused it.
  if (error?.code === "ERR_TEST_FAILURE" && error.cause) error = error.cause;
  for (let e = error, depth = 0; e && depth < 3; e = e.cause, depth++) {
    const text = String(e.stack ?? e.message ?? e);
    const own = text.split("\n").filter((l) => !/^\s+at .*\(?node:/.test(l));
    lines.push(...own.slice(0, depth === 0 ? 12 : 6));
  }
  return lines.map((l) => `      ${l}`).join("\n");
}

export default async function* fileTimes(source) {
  const perFile = new Map();
  const failuresFile = process.env.SWITCHYARD_TEST_FAILURES;
  for await (const event of source) {
    if ((event.type === "test:pass" || event.type === "test:fail") && event.data.nesting === 0) {
      const file = event.data.file ?? "?";
      perFile.set(file, (perFile.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    }
    if (event.type === "test:fail" && failuresFile) {
      const err = event.data.details?.error;
      // A suite fails when a test inside it fails: only the innermost failures carry news.
      if (err?.failureType === "subtestsFailed") continue;
      const file = (event.data.file ?? "?").replace(`${process.cwd()}/`, "");
      appendFileSync(failuresFile, `  ✖ ${file} › ${event.data.name}\n${errorText(err)}\n`);
    }
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 12);
  if (rows.length === 0) return;
  yield "# slowest files:\n";
  for (const [file, ms] of rows) {
    yield `#   ${(ms / 1000).toFixed(1).padStart(6)} s  ${file.replace(`${process.cwd()}/`, "")}\n`;
  }
}
