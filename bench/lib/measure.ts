import { join } from "node:path";
import { request } from "undici";
import type { BenchOptions } from "./args.js";
import { openLoop, streamProbe } from "./driver-client.js";
import { type Pinning, repin } from "./pinning.js";
import { cpuTimeUs } from "./proc-stats.js";
import { StartError } from "./processes.js";
import type { OpenLoopResult, StreamProbeResult, TargetName, TargetResult, WrkResult } from "./types.js";
import { runWrk } from "./wrk.js";

export interface MeasureTarget {
  name: TargetName;
  label: string;
  port: number;
  /** The process under test: the sim for "direct", else the proxy or gateway. */
  pid: number;
  processUnderTest: string;
}

export interface MeasureContext {
  root: string;
  pinning: Pinning;
  opts: BenchOptions;
  simPid: number;
}

export const CHAT_BODY = JSON.stringify({
  model: "bench",
  messages: [{ role: "user", content: "Say hello to the bench." }],
  max_tokens: 16,
});

export type ClosedLoop = Omit<TargetResult, "openLoop" | "peakRssMb">;

function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/**
 * For "direct" the sim itself is under test: it is moved onto the test CPU (where the proxy or the
 * gateway would be) for the duration, and back beside the load generator afterwards.
 */
async function asUnderTest<T>(target: MeasureTarget, ctx: MeasureContext, fn: () => Promise<T>): Promise<T> {
  if (target.name !== "direct") return fn();
  repin(ctx.pinning, ctx.simPid, ctx.pinning.testCpu);
  try {
    return await fn();
  } finally {
    repin(ctx.pinning, ctx.simPid, ctx.pinning.loadCpu);
  }
}

/** One non-streaming request; a target that cannot answer it is not worth measuring. */
export async function checkTarget(target: MeasureTarget): Promise<void> {
  const url = `http://127.0.0.1:${target.port}/v1/chat/completions`;
  const res = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: CHAT_BODY,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200 || !text.includes('"choices"')) {
    throw new StartError(
      `${target.label} answered ${res.statusCode} to a chat completion: ${text.slice(0, 300)}`,
    );
  }
}

async function wrkAt(
  target: MeasureTarget,
  ctx: MeasureContext,
  connections: number,
  seconds: number,
): Promise<WrkResult> {
  return runWrk(
    { port: target.port, connections, seconds, body: CHAT_BODY },
    ctx.pinning,
    join(ctx.root, "bench"),
  );
}

async function streamAt(
  target: MeasureTarget,
  ctx: MeasureContext,
  concurrency: number,
): Promise<StreamProbeResult> {
  const { streamSeconds: seconds, itlMs, streamMaxTokens: maxTokens } = ctx.opts;
  return streamProbe(ctx.root, ctx.pinning, { port: target.port, concurrency, seconds, itlMs, maxTokens });
}

/** Warm-up, wrk at c1 and c16 (CPU counted over c16), then the streaming probe at c1 and c16 (CPU counted over c16). */
export async function measureClosedLoop(target: MeasureTarget, ctx: MeasureContext): Promise<ClosedLoop> {
  return asUnderTest(target, ctx, async () => {
    progress(`${target.label}: warm-up ${ctx.opts.warmupSeconds}s, wrk c1 and c16 ${ctx.opts.seconds}s each`);
    await wrkAt(target, ctx, 16, ctx.opts.warmupSeconds);
    const c1 = await wrkAt(target, ctx, 1, ctx.opts.seconds);
    const before = cpuTimeUs(target.pid);
    const c16 = await wrkAt(target, ctx, 16, ctx.opts.seconds);
    const cpuUs = cpuTimeUs(target.pid) - before;
    progress(`${target.label}: streaming probe c1 and c16, ${ctx.opts.streamSeconds}s each`);
    const streamC1 = await streamAt(target, ctx, 1);
    const streamBefore = cpuTimeUs(target.pid);
    const streamC16 = await streamAt(target, ctx, 16);
    const streamCpuUs = cpuTimeUs(target.pid) - streamBefore;
    const cpu = {
      cpuUs,
      requests: c16.requests,
      cpuUsPerRequest: c16.requests > 0 ? cpuUs / c16.requests : 0,
    };
    return {
      name: target.name,
      label: target.label,
      processUnderTest: target.processUnderTest,
      c1,
      c16,
      cpu,
      streamC1,
      streamC16,
      streamCpu: {
        cpuUs: streamCpuUs,
        cpuUsPerEvent: streamC16.contentEvents > 0 ? streamCpuUs / streamC16.contentEvents : 0,
      },
    };
  });
}

export async function measureOpenLoop(
  target: MeasureTarget,
  ctx: MeasureContext,
  rate: number,
): Promise<OpenLoopResult> {
  return asUnderTest(target, ctx, async () => {
    progress(`${target.label}: open loop at ${rate} req/s for ${ctx.opts.seconds}s`);
    const { seconds, warmupSeconds } = ctx.opts;
    return openLoop(ctx.root, ctx.pinning, {
      port: target.port,
      rate,
      seconds,
      warmupSeconds,
      body: CHAT_BODY,
    });
  });
}
