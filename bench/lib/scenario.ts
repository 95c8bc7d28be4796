import type { BenchOptions } from "./args.js";
import type { Pinning } from "./pinning.js";
import type { ScenarioResult } from "./types.js";

export type { ScenarioResult } from "./types.js";

/** What a scenario (issues 3, 5, 6, 7) gets: placement, options, where logs and scratch files go. */
export interface ScenarioContext {
  root: string;
  pinning: Pinning;
  opts: BenchOptions;
  logDir: string;
}

export const fmtMs = (us: number): string => (us / 1000).toFixed(3);
export const fmtPct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

export function renderScenario(s: ScenarioResult, busy: boolean): string {
  const head = `| ${s.table.header.join(" | ")} |`;
  const align = `|---|${s.table.header
    .slice(1)
    .map(() => "---:")
    .join("|")}|`;
  const rows = s.table.rows.map((r) => `| ${r.join(" | ")} |`);
  const checks = s.checks.map(
    (c) => `| ${c.name} | ${c.measured} | ${c.limit} | ${c.pass ? "PASS" : "FAIL"} |`,
  );
  return [
    `### ${s.title}`,
    "",
    ...s.notes,
    "",
    head,
    align,
    ...rows,
    "",
    busy
      ? "Targets (same run; UNRELIABLE: the machine was busy, run again on an idle one):"
      : "Targets (same run):",
    "",
    "| target | measured | limit | result |",
    "|---|---:|---:|:---:|",
    ...checks,
    "",
  ].join("\n");
}
