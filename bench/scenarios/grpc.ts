/**
 * Issue 9: what the gateway's gRPC front door adds, against what its HTTP front door adds. One
 * instant sim serving both HTTP and `switchyard.v1.Inference` over gRPC, one gateway (the `core`
 * config: default middleware, access log on, the sim as an `openai` endpoint). Four ways in, measured
 * in the same interleaved rounds: HTTP direct to the sim, HTTP through the gateway, gRPC direct to the
 * sim's gRPC port, gRPC through the gateway's gRPC port. HTTP load is wrk and the streaming probe;
 * gRPC load is a @grpc/grpc-js driver (one channel, N calls in flight) on the load CPU.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { baseGatewayConfig, ScenarioFleet } from "../lib/fleet.js";
import { GrpcDriver } from "../lib/grpc-load.js";
import { measurePaths, type PathFigures, type PathTarget } from "../lib/grpc-rounds.js";
import { pinned } from "../lib/pinning.js";
import { StartError, startLogged, waitForPort } from "../lib/processes.js";
import { fmtMs, fmtPct, progress, type ScenarioContext, type ScenarioResult } from "../lib/scenario.js";
import type { TargetCheck } from "../lib/types.js";

/** Each run lasts ¼ of `--seconds`, 1 to 2 s: 2 s by default, 1 s with --quick. */
const runSeconds = (seconds: number) => Math.max(1, Math.min(2, Math.round(seconds / 4)));
/** Tokens per streamed answer (with itl = `--itl` ms between them): short streams, more samples. */
const STREAM_TOKENS = 16;
/** Noise allowances of the checks (see docs/benchmark.md). */
const LATENCY_SLACK_US = 100;
const CPU_SLACK = 1.1;

const KEYS = ["http-direct", "http-gateway", "grpc-direct", "grpc-gateway"] as const;
type Key = (typeof KEYS)[number];
type All = Record<Key, PathFigures>;

/** The `grpcPort` of a JSON ready line `{"msg": MSG, "grpcPort": N}` in a child's log. */
function grpcPortOf(logPath: string, msg: string): number {
  for (const line of readFileSync(logPath, "utf8").split("\n")) {
    if (!line.includes(msg)) continue;
    try {
      const rec = JSON.parse(line) as { msg?: unknown; grpcPort?: unknown };
      if (rec.msg === msg && typeof rec.grpcPort === "number") return rec.grpcPort;
    } catch {
      // not a JSON line
    }
  }
  throw new StartError(`${logPath}: no grpcPort in the '${msg}' line`);
}

async function startSim(ctx: ScenarioContext, fleet: ScenarioFleet) {
  const sim = ["sim", "--port", "0", "--grpc-port", "0", "--model", "bench:instant"];
  const [cmd, args] = pinned(ctx.pinning, ctx.pinning.loadCpu, process.execPath, [fleet.cli, ...sim]);
  const m = startLogged("grpc-sim", cmd, args, join(ctx.logDir, "grpc-sim.log"), ctx.root);
  fleet.track(m);
  const port = await waitForPort(m, "sim listening", 20_000);
  return { ...m, port, grpcPort: grpcPortOf(m.logPath, "sim listening") };
}

const added = (a: All, proto: "http" | "grpc", f: (x: PathFigures) => number) =>
  f(a[`${proto}-gateway`]) - f(a[`${proto}-direct`]);
const c1p50 = (x: PathFigures) => x.c1.latencyUs.p50;
const ttftP50 = (x: PathFigures) => x.ttftUs.p50;

function tableRows(a: All): string[][] {
  const row = (name: string, f: (x: PathFigures) => string) => [name, ...KEYS.map((k) => f(a[k]))];
  const addedCell = (k: Key, f: (x: PathFigures) => number) =>
    k.endsWith("direct") ? "-" : fmtMs(added(a, k.startsWith("grpc") ? "grpc" : "http", f));
  return [
    row("req/s c1 / c16", (x) => `${x.c1.rps.toFixed(0)} / ${x.c16.rps.toFixed(0)}`),
    row("latency c1 p50 / p99 (ms)", (x) => `${fmtMs(x.c1.latencyUs.p50)} / ${fmtMs(x.c1.latencyUs.p99)}`),
    row("latency c16 p50 / p99 (ms)", (x) => `${fmtMs(x.c16.latencyUs.p50)} / ${fmtMs(x.c16.latencyUs.p99)}`),
    ["added p50 over direct, c1 (ms)", ...KEYS.map((k) => addedCell(k, c1p50))],
    ["added p50 over direct, c16 (ms)", ...KEYS.map((k) => addedCell(k, (x) => x.c16.latencyUs.p50))],
    row("stream c1: first text p50 (ms)", (x) => fmtMs(x.ttftUs.p50)),
    row("stream c1: whole stream p50 (ms)", (x) => (x.totalUs ? fmtMs(x.totalUs.p50) : "-")),
    ["added first-text p50 over direct (ms)", ...KEYS.map((k) => addedCell(k, ttftP50))],
    row("CPU µs/request, process under test (c16)", (x) => x.cpuUsPerRequest.toFixed(1)),
    row("CPU busy during c16, process under test", (x) => fmtPct(x.cpuBusy)),
    row("gRPC driver CPU µs/request (c16)", (x) => x.driverCpuUsPerRequest?.toFixed(1) ?? "-"),
    row("streams recorded / errors (all runs)", (x) => `${x.streams} / ${x.errors}`),
  ];
}

function checks(a: All): TargetCheck[] {
  const clean = KEYS.every((k) => a[k].errors === 0);
  const gC1 = added(a, "grpc", c1p50);
  const hC1 = added(a, "http", c1p50);
  const gTtft = added(a, "grpc", ttftP50);
  const hTtft = added(a, "http", ttftP50);
  const cpu = a["grpc-gateway"].cpuUsPerRequest / a["http-gateway"].cpuUsPerRequest;
  const slack = `${(LATENCY_SLACK_US / 1000).toFixed(1)} ms`;
  return [
    {
      name: "added p50 at c1: gRPC (gateway − direct) vs HTTP (gateway − direct)",
      measured: `${fmtMs(gC1)} vs ${fmtMs(hC1)} ms`,
      limit: `≤ HTTP + ${slack}`,
      pass: clean && gC1 <= hC1 + LATENCY_SLACK_US,
    },
    {
      name: "added first-text p50, stream c1: gRPC vs HTTP",
      measured: `${fmtMs(gTtft)} vs ${fmtMs(hTtft)} ms`,
      limit: `≤ HTTP + ${slack}`,
      pass: clean && gTtft <= hTtft + LATENCY_SLACK_US,
    },
    {
      name: "gateway CPU µs/request (c16): gRPC ÷ HTTP",
      measured: `${cpu.toFixed(2)}× (${a["grpc-gateway"].cpuUsPerRequest.toFixed(1)} vs ${a["http-gateway"].cpuUsPerRequest.toFixed(1)})`,
      limit: `≤ ${CPU_SLACK}×`,
      pass: clean && cpu <= CPU_SLACK,
    },
  ];
}

export async function runGrpcScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const fleet = new ScenarioFleet(ctx);
  let driver: GrpcDriver | undefined;
  try {
    progress("grpc: starting an instant sim (HTTP and gRPC), one gateway and the gRPC driver");
    const sim = await startSim(ctx, fleet);
    const gw = await fleet.gateway("grpc-gateway", baseGatewayConfig(sim.port));
    const gwGrpc = grpcPortOf(gw.logPath, "switchyard listening");
    driver = GrpcDriver.start(ctx.root, ctx.pinning);
    const targets: PathTarget[] = [
      { key: "http-direct", label: "HTTP direct", proto: "http", port: sim.port, pid: sim.pid, direct: true },
      {
        key: "http-gateway",
        label: "HTTP gateway",
        proto: "http",
        port: gw.port,
        pid: gw.pid,
        direct: false,
      },
      {
        key: "grpc-direct",
        label: "gRPC direct",
        proto: "grpc",
        port: sim.grpcPort,
        pid: sim.pid,
        direct: true,
      },
      { key: "grpc-gateway", label: "gRPC gateway", proto: "grpc", port: gwGrpc, pid: gw.pid, direct: false },
    ];
    const seconds = runSeconds(ctx.opts.seconds);
    const plan = {
      seconds,
      warmupSeconds: 1,
      rounds: ctx.opts.rounds,
      itlMs: ctx.opts.itlMs,
      maxTokens: STREAM_TOKENS,
      simPid: sim.pid,
    };
    const f = await measurePaths(ctx, driver, targets, plan);
    const a = Object.fromEntries(KEYS.map((k) => [k, f.get(k) as PathFigures])) as All;
    return {
      section: "grpc",
      title: "gRPC front door vs HTTP front door (issue 9)",
      notes: [
        "One instant sim serving HTTP and `switchyard.v1.Inference` over gRPC; one gateway (the `core` config) with the sim",
        "as an `openai` endpoint, so both front doors share the same upstream hop. Same model and request (`max_tokens` 16).",
        `HTTP: wrk (c1, c16) and the streaming probe; gRPC: a @grpc/grpc-js driver, one channel, N calls in flight. ${ctx.opts.rounds}`,
        `interleaved rounds of ${seconds}s per run (unary c1, unary c16, stream c1 with ${STREAM_TOKENS} tokens at itl=${ctx.opts.itlMs} ms); p50s averaged over rounds.`,
        'Direct: the sim is the process under test and moves to the gateway\'s CPU while measured. "Added" = gateway − direct, same protocol.',
      ],
      table: {
        header: ["", "HTTP direct (sim)", "HTTP gateway", "gRPC direct (sim)", "gRPC gateway"],
        rows: tableRows(a),
      },
      checks: checks(a),
      data: {
        ...a,
        runSeconds: seconds,
        streamTokens: STREAM_TOKENS,
        latencySlackUs: LATENCY_SLACK_US,
        cpuSlack: CPU_SLACK,
      },
    };
  } finally {
    await driver?.stop();
    await fleet.stop();
  }
}
