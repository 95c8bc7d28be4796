/**
 * Issue 5: prefix affinity against round robin, on two `sim` replicas with the `large` preset (prefix
 * cache on). The workload is shared long system prompts, each used several times with different user
 * turns, sent one at a time; the figure is the mean time to first token through the gateway. Each
 * balancer gets fresh replicas (cold caches) and the same request order.
 */
import { join } from "node:path";
import { request } from "undici";
import type { AffinityResult } from "../lib/affinity-driver.js";
import { affinityWorkload } from "../lib/driver-client.js";
import { ScenarioFleet } from "../lib/fleet.js";
import { fmtMs, fmtPct, progress, type ScenarioContext, type ScenarioResult } from "../lib/scenario.js";

const PROMPTS = 20;
const ROUNDS = 3;
/** "policy clause " repeated: two sim tokens each, so about 1,500 tokens of system prompt. */
const PHRASE_REPEATS = 750;
const QUIET = { healthCheck: { enabled: false }, outlier: { enabled: false } };

const BALANCERS = [
  { key: "round_robin", label: "round_robin", balancer: "round_robin" as unknown },
  {
    key: "affinity",
    label: "affinity (prefix, 64 chars)",
    balancer: { kind: "affinity", key: { source: "prefix", chars: 64 } } as unknown,
  },
];

async function requestsSeen(port: number): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}/sim/stats`);
  const json = (await res.body.json()) as { requests?: number };
  return Number(json.requests ?? 0);
}

interface Run {
  result: AffinityResult;
  perReplica: number[];
}

async function runOne(ctx: ScenarioContext, b: (typeof BALANCERS)[number]): Promise<Run> {
  const fleet = new ScenarioFleet(ctx);
  try {
    progress(`affinity: ${b.label}: two large sims and a gateway, ${PROMPTS} prompts × ${ROUNDS} rounds`);
    const sims = [
      await fleet.sim(`affinity-${b.key}-sim-a`, "m:large"),
      await fleet.sim(`affinity-${b.key}-sim-b`, "m:large"),
    ];
    const endpoints = sims.map((s) => ({ kind: "openai", url: `http://127.0.0.1:${s.port}/v1` }));
    const dir = fleet.scratch(`affinity-${b.key}`);
    const gw = await fleet.gateway(`affinity-${b.key}`, {
      logging: { level: "info" },
      store: { kind: "sqlite", path: join(dir, "switchyard.db") },
      models: { m: { endpoints, balancer: b.balancer, ...QUIET } },
    });
    const result = await affinityWorkload(ctx.root, ctx.pinning, {
      port: gw.port,
      model: "m",
      prompts: PROMPTS,
      rounds: ROUNDS,
      phraseRepeats: PHRASE_REPEATS,
    });
    const perReplica = await Promise.all(sims.map((s) => requestsSeen(s.port)));
    return { result, perReplica };
  } finally {
    await fleet.stop();
  }
}

export async function runAffinityScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const runs = new Map<string, Run>();
  for (const b of BALANCERS) runs.set(b.key, await runOne(ctx, b));
  const rr = runs.get("round_robin") as Run;
  const aff = runs.get("affinity") as Run;
  const ratio = aff.result.meanTtftUs / rr.result.meanTtftUs;
  const cell = (fn: (r: Run) => string) => BALANCERS.map((b) => fn(runs.get(b.key) as Run));
  return {
    section: "affinity",
    title: "Prefix affinity vs round robin (issue 5)",
    notes: [
      `Two \`switchyard sim --model m:large\` replicas (prefix cache on) per balancer, fresh for each; ${PROMPTS} system`,
      `prompts of ~${PHRASE_REPEATS * 2} sim tokens, each used once per round over ${ROUNDS} rounds with a different user turn,`,
      "in a shuffled order (the same for both balancers); streamed, `max_tokens` 1, one request at a time;",
      "TTFT = request sent to the first content chunk, through the gateway.",
    ],
    table: {
      header: ["", ...BALANCERS.map((b) => b.label)],
      rows: [
        ["mean TTFT (ms)", ...cell((r) => fmtMs(r.result.meanTtftUs))],
        ["mean TTFT, first use of a prompt (ms)", ...cell((r) => fmtMs(r.result.firstUseMeanUs))],
        ["mean TTFT, repeats (ms)", ...cell((r) => fmtMs(r.result.repeatMeanUs))],
        [
          "TTFT p50 / p90 / p99 (ms)",
          ...cell(
            (r) =>
              `${fmtMs(r.result.ttftUs.p50)} / ${fmtMs(r.result.ttftUs.p90)} / ${fmtMs(r.result.ttftUs.p99)}`,
          ),
        ],
        ["requests per replica (incl. 4 warm-up)", ...cell((r) => r.perReplica.join(" / "))],
        ["errors", ...cell((r) => String(r.result.errors))],
      ],
    },
    checks: [
      {
        name: "mean TTFT affinity ÷ mean TTFT round robin",
        measured: `${fmtPct(ratio)} (${fmtMs(aff.result.meanTtftUs)} vs ${fmtMs(rr.result.meanTtftUs)} ms)`,
        limit: "≤ 85% (measurably lower)",
        pass: ratio <= 0.85 && aff.result.errors === 0 && rr.result.errors === 0,
      },
    ],
    data: Object.fromEntries(runs),
  };
}
