/**
 * Dynamic batching: embeddings at concurrency 64 through one gateway to one embedding sim with the
 * default encoder cost (≈ 5 ms per call + 0.035 ms per input, one call at a time, as a BERT-base
 * encoder on one GPU). Two models of the same gateway point at the same sim model: one without
 * batching, one with it. Measured in the same run, interleaved, with the same cost model.
 */
import { join } from "node:path";
import { request } from "undici";
import { ScenarioFleet } from "../lib/fleet.js";
import { cpuTimeUs } from "../lib/proc-stats.js";
import { checkAnswers, mergeWrk, type WrkTarget } from "../lib/rounds.js";
import { fmtMs, progress, type ScenarioContext, type ScenarioResult } from "../lib/scenario.js";
import type { WrkResult } from "../lib/types.js";
import { runWrk } from "../lib/wrk.js";

const CONNECTIONS = 64;
/** Each measured run is at most this long, so the section stays well under a minute. */
const MAX_RUN_SECONDS = 5;
const INPUT = "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun.";
const BATCHING = { maxBatchSize: 64, maxQueueDelayUs: 2_000 };

function gatewayConfig(simPort: number, dir: string): Record<string, unknown> {
  const endpoint = { kind: "openai", url: `http://127.0.0.1:${simPort}/v1`, model: "embed" };
  return {
    logging: { level: "info" },
    store: { kind: "sqlite", path: join(dir, "switchyard.db") },
    models: {
      "embed-plain": { type: "embedding", endpoints: [endpoint] },
      "embed-batched": { type: "embedding", endpoints: [endpoint], batching: BATCHING },
    },
  };
}

/**
 * base64 vectors, as the OpenAI SDKs ask for by default: formatting 768 floats as JSON text costs
 * the sim far more CPU than its modelled encoder time, and would cap the batched run by the sim's CPU.
 */
const bodyFor = (model: string) => JSON.stringify({ model, input: INPUT, encoding_format: "base64" });

interface Figures {
  run: WrkResult;
  errors: number;
  cpuUsPerRequest: number;
}

function errorsOf(w: WrkResult): number {
  const e = w.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}

/** Batches and inputs the gateway reports for the batched model. */
async function batchFigures(port: number): Promise<{ batches: number; items: number }> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  const text = await res.body.text();
  const value = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name}{model="embed-batched"} `));
    return line ? Number(line.split(" ").pop()) : 0;
  };
  return { batches: value("switchyard_batches_total"), items: value("switchyard_batch_size_sum") };
}

async function measure(ctx: ScenarioContext, targets: WrkTarget[]): Promise<Map<string, Figures>> {
  const seconds = Math.min(ctx.opts.seconds, MAX_RUN_SECONDS);
  const bench = join(ctx.root, "bench");
  const wrk = (t: WrkTarget, s: number) =>
    runWrk(
      {
        port: t.port,
        connections: CONNECTIONS,
        seconds: s,
        body: t.plan?.body ?? "",
        path: "/v1/embeddings",
      },
      ctx.pinning,
      bench,
    );
  const runs = new Map<string, WrkResult[]>(targets.map((t) => [t.key, []]));
  const cpu = new Map<string, number>(targets.map((t) => [t.key, 0]));
  for (const t of targets) await checkAnswers(t, { body: "", c1: false, path: "/v1/embeddings" });
  for (const t of targets) {
    progress(`  ${t.label}: warm-up 1s`);
    await wrk(t, 1);
  }
  for (let r = 0; r < ctx.opts.rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length] as WrkTarget;
      progress(`  ${t.label}: round ${r + 1}/${ctx.opts.rounds}, wrk c${CONNECTIONS} ${seconds}s`);
      const before = cpuTimeUs(t.pid);
      runs.get(t.key)?.push(await wrk(t, seconds));
      cpu.set(t.key, (cpu.get(t.key) ?? 0) + cpuTimeUs(t.pid) - before);
    }
  }
  const out = new Map<string, Figures>();
  for (const t of targets) {
    const run = mergeWrk(runs.get(t.key) ?? []);
    const cpuUs = cpu.get(t.key) ?? 0;
    out.set(t.key, {
      run,
      errors: errorsOf(run),
      cpuUsPerRequest: run.requests > 0 ? cpuUs / run.requests : 0,
    });
  }
  return out;
}

export async function runBatchingScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const fleet = new ScenarioFleet(ctx);
  try {
    progress("batching: starting an embedding sim (default encoder cost) and one gateway");
    const dir = fleet.scratch("batching");
    const sim = await fleet.sim("batching-sim", "embed:embedding");
    const gw = await fleet.gateway("batching-gateway", gatewayConfig(sim.port, dir));
    const targets: WrkTarget[] = [
      {
        key: "off",
        label: "batching off",
        port: gw.port,
        pid: gw.pid,
        plan: { body: bodyFor("embed-plain") },
      },
      {
        key: "on",
        label: "batching on",
        port: gw.port,
        pid: gw.pid,
        plan: { body: bodyFor("embed-batched") },
      },
    ];
    const f = await measure(ctx, targets);
    const { batches, items } = await batchFigures(gw.port);
    const off = f.get("off") as Figures;
    const on = f.get("on") as Figures;
    const throughput = on.run.rps / off.run.rps;
    const p99 = on.run.latencyUs.p99 / off.run.latencyUs.p99;
    const cell = (fn: (x: Figures) => string) => [fn(off), fn(on)];
    return {
      section: "batching",
      title: "Dynamic batching of embeddings",
      notes: [
        `One embedding sim at its default cost (≈ 5 ms per call + 0.035 ms per input, one call at a time) and one`,
        "gateway with two models on it: `embed-plain` (no batching) and `embed-batched`",
        `(\`batching: ${JSON.stringify(BATCHING)}\`). wrk c${CONNECTIONS}, one input per request, base64 vectors,`,
        `${ctx.opts.rounds} interleaved rounds of ${Math.min(ctx.opts.seconds, MAX_RUN_SECONDS)}s per model; p99 averaged over rounds.`,
      ],
      table: {
        header: ["", "batching off", "batching on"],
        rows: [
          ["req/s c64", ...cell((x) => x.run.rps.toFixed(0))],
          [
            "latency c64 p50 / p90 / p99 (ms)",
            ...cell(
              (x) =>
                `${fmtMs(x.run.latencyUs.p50)} / ${fmtMs(x.run.latencyUs.p90)} / ${fmtMs(x.run.latencyUs.p99)}`,
            ),
          ],
          ["gateway CPU µs/request", ...cell((x) => x.cpuUsPerRequest.toFixed(1))],
          [
            "mean batch size (inputs per upstream call)",
            "1",
            batches > 0 ? (items / batches).toFixed(1) : "-",
          ],
          ["errors (all runs)", ...cell((x) => String(x.errors))],
        ],
      },
      checks: [
        {
          name: "throughput: req/s (batching on) ÷ req/s (batching off), c64",
          measured: `${throughput.toFixed(2)}×`,
          limit: "≥ 4×",
          pass: throughput >= 4,
        },
        {
          name: "p99 latency: batching on ÷ batching off, c64",
          measured: `${p99.toFixed(3)} (${fmtMs(on.run.latencyUs.p99)} vs ${fmtMs(off.run.latencyUs.p99)} ms)`,
          limit: "≤ 1",
          pass: p99 <= 1,
        },
      ],
      data: {
        off,
        on,
        throughputRatio: throughput,
        p99Ratio: p99,
        batches,
        batchedInputs: items,
        batching: BATCHING,
      },
    };
  } finally {
    await fleet.stop();
  }
}
