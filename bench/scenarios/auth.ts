/**
 * Issue 3: what API keys plus rate limits cost. Three gateways on one sim, measured side by side:
 * no auth; `auth.mode: keys` with per-key limits in memory; the same with the limits in Redis.
 * The limits are set so high that nothing is rejected, but every request reserves and settles.
 */
import { join } from "node:path";
import { redisPing } from "../lib/driver-client.js";
import { baseGatewayConfig, ScenarioFleet } from "../lib/fleet.js";
import { CHAT_BODY } from "../lib/measure.js";
import { runCaptured, StartError } from "../lib/processes.js";
import { redisBenchmarkRtt, startRedis } from "../lib/redis.js";
import { measureInterleaved, type WrkFigures, type WrkTarget } from "../lib/rounds.js";
import { fmtMs, fmtPct, progress, type ScenarioContext, type ScenarioResult } from "../lib/scenario.js";

const LIMITS = { perKeyDefaults: { rpm: 100_000_000, tpm: 1_000_000_000 } };

async function createKey(fleet: ScenarioFleet, ctx: ScenarioContext, db: string): Promise<string> {
  const args = [fleet.cli, "keys", "create", "--name", "bench", "--db", db, "--json"];
  const out = await runCaptured(process.execPath, args, { cwd: ctx.root, timeoutMs: 30_000 });
  const key = out.code === 0 ? (JSON.parse(out.stdout) as { key?: unknown }).key : undefined;
  if (typeof key !== "string") throw new StartError(`keys create failed (exit ${out.code}): ${out.stderr}`);
  return key;
}

interface Rtt {
  nodeP50Us: number;
  benchmark: Awaited<ReturnType<typeof redisBenchmarkRtt>>;
}

function render(f: Map<string, WrkFigures>, targets: WrkTarget[], rtt: Rtt): ScenarioResult["table"] {
  const cell = (fn: (x: WrkFigures) => string) => targets.map((t) => fn(f.get(t.key) as WrkFigures));
  const p50 = (x: WrkFigures) => x.c1?.latencyUs.p50 ?? 0;
  const base = f.get("none") as WrkFigures;
  const rb = rtt.benchmark;
  return {
    header: ["", ...targets.map((t) => t.label)],
    rows: [
      [
        "latency c1 p50 / p90 / p99 (ms)",
        ...cell((x) => {
          const l = x.c1?.latencyUs;
          return l ? `${fmtMs(l.p50)} / ${fmtMs(l.p90)} / ${fmtMs(l.p99)}` : "-";
        }),
      ],
      ["c1 p50 added vs no auth (ms)", ...cell((x) => fmtMs(p50(x) - p50(base)))],
      ["req/s c16", ...cell((x) => x.c16.rps.toFixed(0))],
      ["req/s c16 ÷ no auth", ...cell((x) => fmtPct(x.c16.rps / base.c16.rps))],
      ["req/s c16 per round", ...cell((x) => x.c16Rounds.map((r) => r.toFixed(0)).join(" / "))],
      ["CPU µs/request (c16)", ...cell((x) => x.cpuUsPerRequest.toFixed(1))],
      ["errors (all runs)", ...cell((x) => String(x.errors))],
      ["Redis round trip p50, ioredis PING from the gateway's CPU (ms)", "", "", fmtMs(rtt.nodeP50Us)],
      [
        "Redis round trip, redis-benchmark -c 1 mean / p50 (ms)",
        "",
        "",
        rb ? `${fmtMs(rb.meanUs)} / ${rb.p50Us === undefined ? "-" : fmtMs(rb.p50Us)}` : "n/a",
      ],
    ],
  };
}

export async function runAuthScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const fleet = new ScenarioFleet(ctx);
  try {
    progress("auth: starting sim, redis-server and three gateways");
    const dir = fleet.scratch("auth");
    const db = join(dir, "switchyard.db");
    const sim = await fleet.sim("auth-sim", "bench:instant");
    const redis = await startRedis(ctx.pinning, ctx.logDir, ctx.root, dir);
    fleet.track(redis);
    const apiKey = await createKey(fleet, ctx, db);
    const base = { ...baseGatewayConfig(sim.port), store: { kind: "sqlite", path: db } };
    const keys = { ...base, auth: { mode: "keys" } };
    const none = await fleet.gateway("auth-none", base);
    const memory = await fleet.gateway("auth-memory", { ...keys, limits: LIMITS });
    const redisStore = { kind: "redis", url: `redis://127.0.0.1:${redis.port}` };
    const onRedis = await fleet.gateway("auth-redis", { ...keys, limits: { ...LIMITS, store: redisStore } });
    const targets: WrkTarget[] = [
      { key: "none", label: "no auth", port: none.port, pid: none.pid },
      { key: "memory", label: "keys + memory limits", port: memory.port, pid: memory.pid, apiKey },
      { key: "redis", label: "keys + Redis limits", port: onRedis.port, pid: onRedis.pid, apiKey },
    ];
    const figures = await measureInterleaved(ctx, targets, { body: CHAT_BODY, c1: true });
    progress("auth: Redis round trip (ioredis PING from the gateway's CPU; redis-benchmark)");
    const cpu = ctx.pinning.testCpu;
    const nodeRtt = await redisPing(ctx.root, ctx.pinning, redis.port, cpu);
    const rtt: Rtt = {
      nodeP50Us: nodeRtt.rttUs.p50,
      benchmark: await redisBenchmarkRtt(ctx.pinning, redis.port, cpu, ctx.root),
    };
    const p50 = (k: string) => figures.get(k)?.c1?.latencyUs.p50 ?? 0;
    const keysShare = (p50("memory") - p50("none")) / p50("none");
    const redisAdded = p50("redis") - p50("memory");
    return {
      section: "auth",
      title: "Auth and rate limits (issue 3)",
      notes: [
        "One instant sim; three gateways (default middleware) on the test CPU: no auth, `auth.mode: keys` with",
        "per-key rpm/tpm limits in memory, the same with `limits.store: redis` (redis-server on the load CPU).",
        "wrk sends `Authorization: Bearer <key>` to the keyed gateways; nothing is rejected, every request",
        `reserves and settles. ${ctx.opts.rounds} interleaved rounds of ${ctx.opts.seconds}s per target; c1 p50 averaged over rounds.`,
      ],
      table: render(figures, targets, rtt),
      checks: [
        {
          name: "keys + memory limits: c1 p50 added ÷ no-auth c1 p50",
          measured: `${fmtPct(keysShare)} (${fmtMs(p50("memory") - p50("none"))} ms)`,
          limit: "< 5%",
          pass: keysShare < 0.05,
        },
        {
          name: "Redis limits: c1 p50 (Redis) − c1 p50 (memory) vs one Redis round trip (ioredis PING p50)",
          measured: `${fmtMs(redisAdded)} ms`,
          limit: `< ${fmtMs(rtt.nodeP50Us)} ms`,
          pass: redisAdded < rtt.nodeP50Us,
        },
      ],
      data: {
        targets: Object.fromEntries(figures),
        redisRtt: { node: nodeRtt.rttUs, benchmark: rtt.benchmark },
      },
    };
  } finally {
    await fleet.stop();
  }
}
