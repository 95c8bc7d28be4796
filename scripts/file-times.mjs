// A test reporter for `npm test`: at the end of a run, the slowest test files (sum of their top-level
// tests), so the suite's time budget stays visible.
export default async function* fileTimes(source) {
  const perFile = new Map();
  for await (const event of source) {
    if ((event.type === "test:pass" || event.type === "test:fail") && event.data.nesting === 0) {
      const file = event.data.file ?? "?";
      perFile.set(file, (perFile.get(file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    }
  }
  const rows = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 12);
  if (rows.length === 0) return;
  yield "# slowest files:\n";
  for (const [file, ms] of rows) {
    yield `#   ${(ms / 1000).toFixed(1).padStart(6)} s  ${file.replace(`${process.cwd()}/`, "")}\n`;
  }
}
