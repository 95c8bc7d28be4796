import { join } from "node:path";
import { request } from "undici";
import { cpuTimeUs } from "./proc-stats.js";
import { StartError } from "./processes.js";
import type { ScenarioContext } from "./scenario.js";
import { progress } from "./scenario.js";
import type { WrkResult } from "./types.js";
import { runWrk } from "./wrk.js";

/** A gateway variant measured with wrk, alone on the test CPU while it is measured. */
export interface WrkTarget {
  key: string;
  label: string;
  port: number;
  pid: number;
  apiKey?: string;
  /** Overrides the plan's body, path and good status for this target. */
  plan?: Partial<Omit<WrkPlan, "c1">>;
}

export interface WrkPlan {
  body: string;
  path?: string;
  /** Also run at concurrency 1 (latency), besides 16 (throughput). */
  c1: boolean;
  /** The status a good answer has (200; 202 for job submissions). */
  status?: number;
}

export interface WrkFigures {
  c1?: WrkResult;
  c16: WrkResult;
  /** req/s of each round's c16 run, in round order: their spread is the run's noise. */
  c16Rounds: number[];
  /** Gateway CPU over the c16 runs, per request. */
  cpuUsPerRequest: number;
  /** Gateway CPU over the c16 runs ÷ their duration. */
  cpuBusy: number;
  errors: number;
  /** Requests of the unreported warm-up run. */
  warmupRequests: number;
}

function errorsOf(w: WrkResult | undefined): number {
  if (!w) return 0;
  const e = w.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}

/** Several runs of one target as one: requests and time summed, percentiles averaged, max kept. */
export function mergeWrk(runs: WrkResult[]): WrkResult {
  const first = runs[0];
  if (!first) throw new Error("no wrk runs to merge");
  const sum = (f: (w: WrkResult) => number) => runs.reduce((a, w) => a + f(w), 0);
  const mean = (f: (w: WrkResult) => number) => sum(f) / runs.length;
  const requests = sum((w) => w.requests);
  const durationUs = sum((w) => w.durationUs);
  return {
    connections: first.connections,
    requests,
    durationUs,
    rps: requests / (durationUs / 1e6),
    errors: {
      connect: sum((w) => w.errors.connect),
      read: sum((w) => w.errors.read),
      write: sum((w) => w.errors.write),
      status: sum((w) => w.errors.status),
      timeout: sum((w) => w.errors.timeout),
    },
    latencyUs: {
      p50: mean((w) => w.latencyUs.p50),
      p90: mean((w) => w.latencyUs.p90),
      p99: mean((w) => w.latencyUs.p99),
      max: Math.max(...runs.map((w) => w.latencyUs.max)),
      count: requests,
    },
  };
}

/** One request as wrk will send it; a target that does not answer it right is not worth measuring. */
export async function checkAnswers(t: WrkTarget, common: WrkPlan): Promise<void> {
  const plan = { ...common, ...t.plan };
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (t.apiKey !== undefined) headers.authorization = `Bearer ${t.apiKey}`;
  const res = await request(`http://127.0.0.1:${t.port}${plan.path ?? "/v1/chat/completions"}`, {
    method: "POST",
    headers,
    body: plan.body,
  });
  const text = await res.body.text();
  if (res.statusCode !== (plan.status ?? 200)) {
    throw new StartError(`${t.label} answered ${res.statusCode}: ${text.slice(0, 300)}`);
  }
}

/**
 * Per target one unreported c16 warm-up, then `rounds` rounds; each round runs every target (c1,
 * then c16 with the gateway's CPU read around it), starting with a different target each round so
 * that a drift of the machine spreads over all of them. Figures are merged over the rounds.
 */
export async function measureInterleaved(
  ctx: ScenarioContext,
  targets: WrkTarget[],
  plan: WrkPlan,
): Promise<Map<string, WrkFigures>> {
  const { seconds, warmupSeconds, rounds } = ctx.opts;
  const bench = join(ctx.root, "bench");
  const wrk = (t: WrkTarget, connections: number, s: number) => {
    const { body, path } = { ...plan, ...t.plan };
    return runWrk(
      { port: t.port, connections, seconds: s, body, path, apiKey: t.apiKey },
      ctx.pinning,
      bench,
    );
  };
  const c1: Map<string, WrkResult[]> = new Map(targets.map((t) => [t.key, []]));
  const c16: Map<string, WrkResult[]> = new Map(targets.map((t) => [t.key, []]));
  const cpu: Map<string, number> = new Map(targets.map((t) => [t.key, 0]));
  const warm: Map<string, number> = new Map();
  for (const t of targets) await checkAnswers(t, plan);
  for (const t of targets) {
    progress(`  ${t.label}: warm-up ${warmupSeconds}s`);
    warm.set(t.key, (await wrk(t, 16, warmupSeconds)).requests);
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length] as WrkTarget;
      progress(`  ${t.label}: round ${r + 1}/${rounds}, wrk ${plan.c1 ? "c1 and c16" : "c16"} ${seconds}s`);
      if (plan.c1) c1.get(t.key)?.push(await wrk(t, 1, seconds));
      const before = cpuTimeUs(t.pid);
      c16.get(t.key)?.push(await wrk(t, 16, seconds));
      cpu.set(t.key, (cpu.get(t.key) ?? 0) + cpuTimeUs(t.pid) - before);
    }
  }
  const out = new Map<string, WrkFigures>();
  for (const t of targets) {
    const merged16 = mergeWrk(c16.get(t.key) ?? []);
    const runs1 = c1.get(t.key) ?? [];
    const merged1 = runs1.length > 0 ? mergeWrk(runs1) : undefined;
    const cpuUs = cpu.get(t.key) ?? 0;
    out.set(t.key, {
      c1: merged1,
      c16: merged16,
      c16Rounds: (c16.get(t.key) ?? []).map((w) => w.rps),
      cpuUsPerRequest: merged16.requests > 0 ? cpuUs / merged16.requests : 0,
      cpuBusy: cpuUs / merged16.durationUs,
      errors: errorsOf(merged1) + errorsOf(merged16),
      warmupRequests: warm.get(t.key) ?? 0,
    });
  }
  return out;
}

/**
 * `1 − req/s(target) ÷ req/s(base)` per round, pairing each target's c16 run with the base's run of
 * the same round: how far apart the rounds are says whether a cost of a few percent is decidable.
 */
export function costPerRound(target: WrkFigures, base: WrkFigures): number[] {
  return target.c16Rounds.map((rps, i) => 1 - rps / (base.c16Rounds[i] ?? Number.NaN));
}
