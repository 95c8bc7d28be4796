/**
 * Issue 6: what metrics and tracing cost in throughput. Three gateways on one sim, measured side by
 * side: metrics off and no tracing; metrics only (the default); metrics plus tracing of every request
 * (`sampleRatio: 1`) exported over OTLP/HTTP to a receiver in the bench process.
 */
import { join } from "node:path";
import { baseGatewayConfig, ScenarioFleet } from "../lib/fleet.js";
import { CHAT_BODY } from "../lib/measure.js";
import { startOtlpReceiver } from "../lib/otlp-receiver.js";
import { costPerRound, measureInterleaved, type WrkFigures, type WrkTarget } from "../lib/rounds.js";
import { fmtMs, fmtPct, progress, type ScenarioContext, type ScenarioResult } from "../lib/scenario.js";

function table(f: Map<string, WrkFigures>, targets: WrkTarget[], spanShare: string): ScenarioResult["table"] {
  const cell = (fn: (x: WrkFigures) => string) => targets.map((t) => fn(f.get(t.key) as WrkFigures));
  const base = f.get("none") as WrkFigures;
  return {
    header: ["", ...targets.map((t) => t.label)],
    rows: [
      ["req/s c16", ...cell((x) => x.c16.rps.toFixed(0))],
      ["req/s c16 ÷ neither", ...cell((x) => fmtPct(x.c16.rps / base.c16.rps))],
      ["req/s c16 per round", ...cell((x) => x.c16Rounds.map((r) => r.toFixed(0)).join(" / "))],
      [
        "latency c16 p50 / p99 (ms)",
        ...cell((x) => `${fmtMs(x.c16.latencyUs.p50)} / ${fmtMs(x.c16.latencyUs.p99)}`),
      ],
      ["latency c1 p50 (ms)", ...cell((x) => (x.c1 ? fmtMs(x.c1.latencyUs.p50) : "-"))],
      ["CPU µs/request (c16)", ...cell((x) => x.cpuUsPerRequest.toFixed(1))],
      ["CPU busy during c16", ...cell((x) => fmtPct(x.cpuBusy))],
      ["errors (all runs)", ...cell((x) => String(x.errors))],
      ["request spans received ÷ requests sent", "", "", spanShare],
    ],
  };
}

export async function runObservabilityScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const fleet = new ScenarioFleet(ctx);
  const receiver = await startOtlpReceiver("POST /v1/chat/completions");
  try {
    progress("observability: starting sim and three gateways; OTLP receiver in the bench process");
    const dir = fleet.scratch("observability");
    const sim = await fleet.sim("obs-sim", "bench:instant");
    const base = {
      ...baseGatewayConfig(sim.port),
      store: { kind: "sqlite", path: join(dir, "switchyard.db") },
    };
    const none = await fleet.gateway("obs-none", { ...base, observability: { metrics: { enabled: false } } });
    const metrics = await fleet.gateway("obs-metrics", base);
    const tracing = await fleet.gateway("obs-tracing", {
      ...base,
      observability: { tracing: { endpoint: `http://127.0.0.1:${receiver.port}`, sampleRatio: 1 } },
    });
    const targets: WrkTarget[] = [
      { key: "none", label: "neither", port: none.port, pid: none.pid },
      { key: "metrics", label: "metrics (default)", port: metrics.port, pid: metrics.pid },
      { key: "tracing", label: "metrics + tracing 100%", port: tracing.port, pid: tracing.pid },
    ];
    const figures = await measureInterleaved(ctx, targets, { body: CHAT_BODY, c1: true });
    await new Promise((r) => setTimeout(r, 2500)); // let the last batch export (scheduledDelayMs 1000)
    const otlp = receiver.stats();
    const tr = figures.get("tracing") as WrkFigures;
    // Every request the traced gateway answered: the check, the warm-up and the measured runs.
    const traced = 1 + tr.warmupRequests + tr.c16.requests + (tr.c1?.requests ?? 0);
    const mb = (otlp.bytes / 1e6).toFixed(1);
    const spanShare = `${fmtPct(otlp.serverSpans / traced)}: ${otlp.serverSpans} of ${traced} (${mb} MB in ${otlp.requests} exports)`;
    const rps = (k: string) => figures.get(k)?.c16.rps ?? 0;
    const metricsCost = 1 - rps("metrics") / rps("none");
    const tracingCost = 1 - rps("tracing") / rps("none");
    const tracingOverMetrics = 1 - rps("tracing") / rps("metrics");
    const rounds = (k: string) =>
      `rounds: ${costPerRound(figures.get(k) as WrkFigures, figures.get("none") as WrkFigures)
        .map(fmtPct)
        .join(", ")}`;
    return {
      section: "observability",
      title: "Observability cost (issue 6)",
      notes: [
        "One instant sim; three gateways (default middleware otherwise) on the test CPU: `metrics.enabled: false`",
        "and no tracing; metrics only (default); metrics + tracing at `sampleRatio: 1` to a local OTLP/HTTP",
        `receiver. ${ctx.opts.rounds} interleaved rounds of wrk c1 and c16, ${ctx.opts.seconds}s each, per target. Cost = 1 − req/s ÷ req/s of "neither".`,
        "If fewer request spans arrived than requests were sent, spans were dropped (queue full) and the",
        "tracing cost is understated. Each check also gives the cost per round (each target's c16 run against",
        "the base's run of the same round): where those differ by more than the limit, one run cannot decide it.",
      ],
      table: table(figures, targets, spanShare),
      checks: [
        {
          name: "metrics cost: 1 − req/s (metrics) ÷ req/s (neither), c16",
          measured: `${fmtPct(metricsCost)} (${rounds("metrics")})`,
          limit: "< 3%",
          pass: metricsCost < 0.03,
        },
        {
          name: "full tracing cost: 1 − req/s (metrics + tracing) ÷ req/s (neither), c16",
          measured: `${fmtPct(tracingCost)} (vs metrics only: ${fmtPct(tracingOverMetrics)}; ${rounds("tracing")})`,
          limit: "< 10%",
          pass: tracingCost < 0.1 && otlp.serverSpans > 0,
        },
      ],
      data: { targets: Object.fromEntries(figures), otlp, metricsCost, tracingCost, tracingOverMetrics },
    };
  } finally {
    await fleet.stop();
    await receiver.close();
  }
}
