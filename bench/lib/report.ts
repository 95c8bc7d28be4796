import { batchedShare } from "./checks.js";
import { renderScenario } from "./scenario.js";
import type { BenchReport, Percentiles, TargetResult, WrkResult } from "./types.js";

const ms = (us: number) => (us / 1000).toFixed(3);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const triple = (p: Percentiles) => `${ms(p.p50)} / ${ms(p.p90)} / ${ms(p.p99)}`;

function wrkErrors(w: WrkResult): number {
  const x = w.errors;
  return x.connect + x.read + x.write + x.status + x.timeout;
}

function errorCount(t: TargetResult): number {
  return (
    wrkErrors(t.c1) + wrkErrors(t.c16) + t.streamC1.errors + t.streamC16.errors + (t.openLoop?.errors ?? 0)
  );
}

type Row = [string, (t: TargetResult) => string];

function rows(report: BenchReport): Row[] {
  const rate = report.targets[0]?.openLoop?.rate;
  return [
    ["req/s c1", (t) => t.c1.rps.toFixed(0)],
    ["req/s c16", (t) => t.c16.rps.toFixed(0)],
    ["latency c1 p50 / p90 / p99 (ms)", (t) => triple(t.c1.latencyUs)],
    ["latency c16 p50 / p90 / p99 (ms)", (t) => triple(t.c16.latencyUs)],
    [
      `open loop @ ${rate ?? "-"} req/s p50 / p99 (ms)`,
      (t) => (t.openLoop ? `${ms(t.openLoop.latencyUs.p50)} / ${ms(t.openLoop.latencyUs.p99)}` : "-"),
    ],
    ["TTFT p50 c1 / c16 (ms)", (t) => `${ms(t.streamC1.ttftUs.p50)} / ${ms(t.streamC16.ttftUs.p50)}`],
    [
      "max content events per read c1 / c16",
      (t) => `${t.streamC1.maxEventsPerRead} / ${t.streamC16.maxEventsPerRead}`,
    ],
    [
      "events sharing a read c1 / c16",
      (t) => `${pct(batchedShare(t.streamC1))} / ${pct(batchedShare(t.streamC16))}`,
    ],
    ["CPU µs/request (c16)", (t) => t.cpu.cpuUsPerRequest.toFixed(1)],
    ["CPU busy during c16", (t) => pct(t.cpu.cpuUs / t.c16.durationUs)],
    ["CPU µs per streamed event (stream c16)", (t) => t.streamCpu.cpuUsPerEvent.toFixed(1)],
    ["peak RSS (MB)", (t) => t.peakRssMb.toFixed(1)],
    ["errors (all runs)", (t) => String(errorCount(t))],
  ];
}

function background(report: BenchReport): string {
  const pct = report.machine.backgroundCpuPct;
  if (pct === undefined) return "";
  return pct > 5
    ? ` WARNING: the machine was ${pct}% busy before the run; figures are noisy.`
    : ` Background load before the run: ${pct}%.`;
}

function placement(report: BenchReport): string {
  if (!report.machine.pinned) return "not pinned (no taskset or a single CPU): figures share CPUs";
  return "proxy/gateway pinned to CPU 1; sims, redis-server, wrk and drivers on CPU 0; for direct, the sim on CPU 1";
}

function renderCore(report: BenchReport): string[] {
  if (report.targets.length === 0) return [];
  const header = `| | ${report.targets.map((t) => `${t.label} (${t.processUnderTest})`).join(" | ")} |`;
  const align = `|---|${report.targets.map(() => "---:").join("|")}|`;
  const body = rows(report).map(([name, cell]) => `| ${name} | ${report.targets.map(cell).join(" | ")} |`);
  const checks = report.checks.map(
    (c) => `| ${c.name} | ${c.measured} | ${c.limit} | ${c.pass ? "PASS" : "FAIL"} |`,
  );
  return [
    header,
    align,
    ...body,
    "",
    (report.machine.backgroundCpuPct ?? 0) > 5
      ? "### Targets (ratios from this run; UNRELIABLE: the machine was busy, run again on an idle one)"
      : "### Targets (ratios from this run)",
    "",
    "| target | measured | limit | result |",
    "|---|---:|---:|:---:|",
    ...checks,
    "",
  ];
}

export function renderMarkdown(report: BenchReport): string {
  const s = report.settings;
  const busy = (report.machine.backgroundCpuPct ?? 0) > 5;
  const failed = Object.entries(report.failedScenarios ?? {}).map(
    ([name, why]) => `### ${name}: could not run\n\n${why.split("\n")[0] ?? ""}\n`,
  );
  return [
    `## Switchyard bench, ${report.startedAt}`,
    "",
    `${placement(report)}. Sections: ${report.sections.join(", ")}. wrk ${s.seconds}s per run (1 thread), streaming ${s.streamSeconds}s per run with itl=${s.itlMs} ms and max_tokens ${s.streamMaxTokens}; node ${report.machine.node}.${background(report)}`,
    "",
    ...renderCore(report),
    ...Object.values(report.scenarios).map((sc) => renderScenario(sc, busy)),
    ...failed,
  ].join("\n");
}
