import { join } from "node:path";
import type { GrpcDriver } from "./grpc-load.js";
import { CHAT_BODY } from "./measure.js";
import { repin } from "./pinning.js";
import { cpuTimeUs } from "./proc-stats.js";
import { checkAnswers, mergeWrk } from "./rounds.js";
import { progress, type ScenarioContext } from "./scenario.js";
import type { Percentiles, WrkResult } from "./types.js";
import { runWrk } from "./wrk.js";

/** One way in: HTTP or gRPC, straight to the sim or through the gateway. */
export interface PathTarget {
  key: string;
  label: string;
  proto: "http" | "grpc";
  /** The HTTP or the gRPC port of the process the load goes to. */
  port: number;
  /** The process under test: the sim for a direct path, else the gateway. */
  pid: number;
  /** The sim is under test: it moves to the test CPU while this target is measured. */
  direct: boolean;
}

export interface PathPlan {
  /** Seconds of each unary run (c1, c16) and of each streaming run (c1). */
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  itlMs: number;
  maxTokens: number;
  simPid: number;
}

export interface PathFigures {
  c1: WrkResult;
  c16: WrkResult;
  /** CPU of the process under test over the c16 runs, per request and as a share of their duration. */
  cpuUsPerRequest: number;
  cpuBusy: number;
  /** Streaming at c1: time to the first text, and (gRPC only) to the end of the stream. */
  ttftUs: Percentiles;
  totalUs?: Percentiles;
  streams: number;
  errors: number;
  /** gRPC only: the driver's own CPU per request over the c16 runs. */
  driverCpuUsPerRequest?: number;
}

interface Tally {
  c1: WrkResult[];
  c16: WrkResult[];
  cpuUs: number;
  driverCpuUs: number;
  ttft: Percentiles[];
  total: Percentiles[];
  streams: number;
  streamErrors: number;
}

/** Percentiles of several runs as one: averaged, max kept, counts summed (as `mergeWrk` does). */
export function mergePercentiles(list: Percentiles[]): Percentiles {
  const n = Math.max(1, list.length);
  const mean = (f: (p: Percentiles) => number) => list.reduce((a, p) => a + f(p), 0) / n;
  return {
    p50: mean((p) => p.p50),
    p90: mean((p) => p.p90),
    p99: mean((p) => p.p99),
    max: Math.max(0, ...list.map((p) => p.max)),
    count: list.reduce((a, p) => a + p.count, 0),
  };
}

const wrkErrors = (w: WrkResult) =>
  w.errors.connect + w.errors.read + w.errors.write + w.errors.status + w.errors.timeout;

class PathRunner {
  constructor(
    private readonly ctx: ScenarioContext,
    private readonly driver: GrpcDriver,
    private readonly plan: PathPlan,
  ) {}

  async check(t: PathTarget): Promise<void> {
    if (t.proto === "grpc") return this.driver.check(t.port, this.plan.itlMs);
    return checkAnswers(
      { key: t.key, label: t.label, port: t.port, pid: t.pid },
      { body: CHAT_BODY, c1: false },
    );
  }

  unary(t: PathTarget, concurrency: number, seconds: number): Promise<WrkResult & { driverCpuUs?: number }> {
    if (t.proto === "grpc") return this.driver.unary(t.port, concurrency, seconds);
    const run = { port: t.port, connections: concurrency, seconds, body: CHAT_BODY };
    return runWrk(run, this.ctx.pinning, join(this.ctx.root, "bench"));
  }

  async stream(
    t: PathTarget,
  ): Promise<{ ttft: Percentiles; total?: Percentiles; streams: number; errors: number }> {
    const { seconds, itlMs, maxTokens } = this.plan;
    if (t.proto === "grpc") {
      const r = await this.driver.stream(t.port, 1, seconds, itlMs, maxTokens);
      return { ttft: r.ttftUs, total: r.totalUs, streams: r.streams, errors: r.errors };
    }
    const r = await this.driver.httpStream(t.port, seconds, itlMs, maxTokens);
    return { ttft: r.ttftUs, streams: r.streams, errors: r.errors };
  }

  /** Runs `fn` with the sim on the test CPU when it is the process under test. */
  async underTest<T>(t: PathTarget, fn: () => Promise<T>): Promise<T> {
    if (!t.direct) return fn();
    const { pinning } = this.ctx;
    repin(pinning, this.plan.simPid, pinning.testCpu);
    try {
      return await fn();
    } finally {
      repin(pinning, this.plan.simPid, pinning.loadCpu);
    }
  }

  /** One round of one target: unary c1, unary c16 (CPU read around it), streaming c1. */
  async round(t: PathTarget, tally: Tally): Promise<void> {
    const { seconds } = this.plan;
    await this.underTest(t, async () => {
      tally.c1.push(await this.unary(t, 1, seconds));
      const before = cpuTimeUs(t.pid);
      const c16 = await this.unary(t, 16, seconds);
      tally.cpuUs += cpuTimeUs(t.pid) - before;
      tally.driverCpuUs += c16.driverCpuUs ?? 0;
      tally.c16.push(c16);
      const s = await this.stream(t);
      tally.ttft.push(s.ttft);
      if (s.total) tally.total.push(s.total);
      tally.streams += s.streams;
      tally.streamErrors += s.errors;
    });
  }
}

function figures(t: PathTarget, x: Tally): PathFigures {
  const c1 = mergeWrk(x.c1);
  const c16 = mergeWrk(x.c16);
  return {
    c1,
    c16,
    cpuUsPerRequest: c16.requests > 0 ? x.cpuUs / c16.requests : 0,
    cpuBusy: x.cpuUs / c16.durationUs,
    ttftUs: mergePercentiles(x.ttft),
    ...(x.total.length > 0 ? { totalUs: mergePercentiles(x.total) } : {}),
    streams: x.streams,
    errors: wrkErrors(c1) + wrkErrors(c16) + x.streamErrors,
    ...(t.proto === "grpc" && c16.requests > 0
      ? { driverCpuUsPerRequest: x.driverCpuUs / c16.requests }
      : {}),
  };
}

/**
 * Every target answers one request (gRPC: one Chat and one ChatStream), gets one unreported c16
 * warm-up, then `rounds` rounds; each round measures every target once, starting with a different
 * one each round, so that a drift of the machine spreads over all of them.
 */
export async function measurePaths(
  ctx: ScenarioContext,
  driver: GrpcDriver,
  targets: PathTarget[],
  plan: PathPlan,
): Promise<Map<string, PathFigures>> {
  const runner = new PathRunner(ctx, driver, plan);
  const tallies = new Map<string, Tally>();
  for (const t of targets) {
    await runner.check(t);
    const empty = {
      c1: [],
      c16: [],
      cpuUs: 0,
      driverCpuUs: 0,
      ttft: [],
      total: [],
      streams: 0,
      streamErrors: 0,
    };
    tallies.set(t.key, empty);
  }
  for (const t of targets) {
    progress(`  ${t.label}: warm-up ${plan.warmupSeconds}s`);
    await runner.underTest(t, () => runner.unary(t, 16, plan.warmupSeconds));
  }
  for (let r = 0; r < plan.rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length] as PathTarget;
      progress(
        `  ${t.label}: round ${r + 1}/${plan.rounds}, c1 and c16 ${plan.seconds}s, stream c1 ${plan.seconds}s`,
      );
      await runner.round(t, tallies.get(t.key) as Tally);
    }
  }
  return new Map(targets.map((t) => [t.key, figures(t, tallies.get(t.key) as Tally)]));
}
