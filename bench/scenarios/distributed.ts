/**
 * The distributed profile: job submissions per second from one gateway, and completed jobs per
 * second with 2 `switchyard worker` processes, for five queues in one run: the embedded SQLite
 * queue (SQLite store), NATS JetStream, Redis Streams, Apache Kafka and NSQ (all four with the
 * PostgreSQL store). Kafka and NSQ run when their servers are installed (scripts/install-kafka.sh,
 * scripts/install-test-deps.sh); without them their rows say why they are missing.
 * Submissions: wrk c16 on POST /v1/jobs against one gateway per profile (`workers: 0`, nothing
 * draining), interleaved. End to end: per profile a gateway plus 2 workers on a fresh database and
 * queue; the driver submits N jobs and waits until all are finished. The upstream is the sim with a
 * fixed delay, so the upstream's ceiling (worker slots ÷ delay) is known and a queue that keeps up
 * reaches it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { KAFKA_MISSING, type KafkaProc, startKafka } from "../../test/helpers/kafka.js";
import { NATS_SERVER } from "../../test/helpers/nats.js";
import { NSQD, type NsqdProc, startNsqd } from "../../test/helpers/nsq.js";
import { PG_BIN_DIR, type PostgresProc, startPostgres } from "../../test/helpers/postgres.js";
import { jobsEndToEnd } from "../lib/driver-client.js";
import { baseGatewayConfig, freePort, fsType, ScenarioFleet } from "../lib/fleet.js";
import type { JobsResult } from "../lib/jobs-driver.js";
import { CHAT_BODY } from "../lib/measure.js";
import { pinned, repin } from "../lib/pinning.js";
import { type Managed, StartError, startLogged, stopOne, waitForPort } from "../lib/processes.js";
import { measureInterleaved, type WrkFigures } from "../lib/rounds.js";
import { fmtPct, progress, type ScenarioContext, type ScenarioResult } from "../lib/scenario.js";
import type { TargetCheck } from "../lib/types.js";

const PROFILES = ["sqlite", "nats", "redis", "kafka", "nsq"] as const;
type Profile = (typeof PROFILES)[number];
const LABEL: Record<Profile, string> = {
  sqlite: "SQLite (embedded)",
  nats: "NATS JetStream + PostgreSQL",
  redis: "Redis Streams + PostgreSQL",
  kafka: "Kafka + PostgreSQL",
  nsq: "NSQ + PostgreSQL",
};
/** Submissions only: NATS with the server's default sync, next to the `nats` profile's sync on every write. */
const NATS_DEFAULT_SYNC = "nats-default-sync";
const NATS_DEFAULT_SYNC_LABEL = "NATS JetStream (server-default sync) + PostgreSQL";
const WORKERS = 2;
const CONCURRENCY = 16;
const CLIENTS = 16;
/**
 * Upstream time per job: with 2 × 16 worker slots the upstream's ceiling is 32 / 0.1 s = 320 jobs/s,
 * a rate a 2-core machine running every process can reach when the queue and store keep up.
 */
const UPSTREAM_DELAY_MS = 100;
const CEILING = (WORKERS * CONCURRENCY * 1000) / UPSTREAM_DELAY_MS;
const JOB_BODY = JSON.stringify({ type: "chat.completion", request: JSON.parse(CHAT_BODY) as unknown });

interface Brokers {
  pg: PostgresProc;
  natsUrl: string;
  /** A second nats-server with the server's default sync (every 2 minutes), for submissions only. */
  natsDefaultSyncUrl: string;
  redisUrl: string;
  /** Absent when the Kafka jars or Java are missing (see `missing`). */
  kafka?: KafkaProc;
  /** Absent when nsqd is not installed. */
  nsqd?: NsqdProc;
  /** Why a profile cannot run here. */
  missing: Partial<Record<Profile, string>>;
  scratch: string;
}

/**
 * nats-server with JetStream file storage on the load CPU: synced on every write (`sync_interval:
 * always`, survives an OS crash on one host), or with the server's default sync (every 2 minutes:
 * survives a process kill; a cluster's replicas cover the loss of a host).
 */
async function startNats(
  ctx: ScenarioContext,
  fleet: ScenarioFleet,
  dir: string,
  syncAlways: boolean,
): Promise<string> {
  if (!NATS_SERVER) throw new StartError("nats-server not found (scripts/install-test-deps.sh installs it)");
  const port = await freePort();
  const name = syncAlways ? "distributed-nats" : "distributed-nats-default-sync";
  const conf = join(dir, `${name}.conf`);
  const sync = syncAlways ? "sync_interval: always\n" : "";
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\njetstream { store_dir: "${join(dir, name)}"\n${sync}}\n`);
  const [cmd, args] = pinned(ctx.pinning, ctx.pinning.loadCpu, NATS_SERVER, ["-c", conf]);
  const m = startLogged(name, cmd, args, join(ctx.logDir, `${name}.log`), ctx.root);
  fleet.track(m);
  const deadline = Date.now() + 15_000;
  while (!readFileSync(m.logPath, "utf8").includes("Server is ready")) {
    if (Date.now() > deadline || m.child.exitCode !== null)
      throw new StartError(`nats-server did not start (see ${m.logPath})`);
    await sleep(50);
  }
  return `nats://127.0.0.1:${port}`;
}

/** redis-server with the append-only file fsynced on every write (`appendfsync always`), on the load CPU. */
async function startDurableRedis(ctx: ScenarioContext, fleet: ScenarioFleet, dir: string): Promise<string> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir];
  args.push("--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction");
  const [cmd, argv] = pinned(ctx.pinning, ctx.pinning.loadCpu, "redis-server", args);
  const m = startLogged("distributed-redis", cmd, argv, join(ctx.logDir, "distributed-redis.log"), ctx.root);
  fleet.track(m);
  const deadline = Date.now() + 10_000;
  while (!readFileSync(m.logPath, "utf8").includes("Ready to accept connections")) {
    if (Date.now() > deadline || m.child.exitCode !== null)
      throw new StartError(`redis-server did not start (see ${m.logPath})`);
    await sleep(50);
  }
  return `redis://127.0.0.1:${port}`;
}

async function startBrokers(ctx: ScenarioContext, fleet: ScenarioFleet): Promise<Brokers> {
  if (!PG_BIN_DIR) throw new StartError("PostgreSQL not installed (apt-get install -y postgresql)");
  const scratch = fleet.scratch("distributed");
  const missing: Partial<Record<Profile, string>> = {};
  if (KAFKA_MISSING) missing.kafka = KAFKA_MISSING;
  if (!NSQD) missing.nsq = "nsqd not found (scripts/install-test-deps.sh installs it)";
  // One KRaft Kafka node (the test helper's: small heap, log folder in a temp directory) and an nsqd
  // with every message on disk (`--mem-queue-size=0 --sync-every=1`); neither is pinned to a CPU.
  const [pg, natsUrl, natsDefaultSyncUrl, redisUrl, kafka, nsqd] = await Promise.all([
    startPostgres({ database: "bench" }),
    startNats(ctx, fleet, scratch, true),
    startNats(ctx, fleet, scratch, false),
    startDurableRedis(ctx, fleet, scratch),
    missing.kafka ? undefined : startKafka(),
    missing.nsq ? undefined : startNsqd({ memQueueSize: 0, args: ["--sync-every=1"] }),
  ]);
  // Backends fork from the postmaster and inherit its CPU.
  const postmaster = Number(readFileSync(join(pg.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  if (Number.isInteger(postmaster) && postmaster > 0) repin(ctx.pinning, postmaster, ctx.pinning.loadCpu);
  return { pg, natsUrl, natsDefaultSyncUrl, redisUrl, kafka, nsqd, missing, scratch };
}

/**
 * A gateway or worker config for one profile; `tag` keeps the store and queue apart per use.
 * `natsUrl` overrides the NATS server (the default-sync one for its submissions row).
 */
async function profileConfig(p: Profile, tag: string, b: Brokers, simPort: number, natsUrl = b.natsUrl) {
  const base = baseGatewayConfig(simPort);
  if (p === "sqlite") {
    return { ...base, store: { kind: "sqlite", path: join(b.scratch, `${tag}.db`) }, jobs: { workers: 0 } };
  }
  const store = { kind: "postgres", url: await b.pg.createDatabase(`${p}_${tag}`) };
  return { ...base, store, jobs: { workers: 0, queue: queueConfig(p, tag, b, natsUrl) } };
}

function queueConfig(
  p: Exclude<Profile, "sqlite">,
  tag: string,
  b: Brokers,
  natsUrl: string,
): Record<string, unknown> {
  switch (p) {
    case "nats":
      return { kind: "nats", servers: [natsUrl], stream: tag.toUpperCase(), subjectPrefix: `bench.${tag}` };
    case "redis":
      return { kind: "redis", url: b.redisUrl, name: tag };
    case "kafka":
      return {
        kind: "kafka",
        brokers: [b.kafka!.broker],
        topicPrefix: `bench.${tag}`,
        groupId: `bench-${tag}`,
      };
    case "nsq":
      return {
        kind: "nsq",
        nsqd: [{ tcpAddress: b.nsqd!.tcpAddress, httpAddress: b.nsqd!.httpAddress }],
        topicPrefix: `bench_${tag}`,
      };
  }
}

async function startWorker(ctx: ScenarioContext, fleet: ScenarioFleet, name: string, configPath: string) {
  const argv = [fleet.cli, "worker", "--config", configPath, "--concurrency", String(CONCURRENCY)];
  const [cmd, args] = pinned(ctx.pinning, ctx.pinning.testCpu, process.execPath, argv);
  const m = startLogged(name, cmd, args, join(ctx.logDir, `${name}.log`), ctx.root);
  fleet.track(m);
  await waitForPort(m, "switchyard worker started", 20_000);
  return m;
}

/** One profile end to end: a gateway and 2 workers on fresh state, N jobs, then everything stopped. */
async function endToEnd(
  ctx: ScenarioContext,
  fleet: ScenarioFleet,
  p: Profile,
  b: Brokers,
  simPort: number,
  count: number,
): Promise<JobsResult> {
  const config = await profileConfig(p, "e2e", b, simPort);
  const gw = await fleet.gateway(`distributed-${p}-e2e`, config);
  const configPath = join(ctx.logDir, `distributed-${p}-e2e.yaml`);
  const workers: Managed[] = [];
  try {
    for (let i = 0; i < WORKERS; i++)
      workers.push(await startWorker(ctx, fleet, `distributed-${p}-worker-${i + 1}`, configPath));
    progress(`distributed: ${LABEL[p]}: ${count} jobs end to end, ${WORKERS} workers × ${CONCURRENCY}`);
    return await jobsEndToEnd(ctx.root, ctx.pinning, {
      port: gw.port,
      count,
      concurrency: CLIENTS,
      body: JOB_BODY,
      warmupSeconds: ctx.opts.warmupSeconds,
      timeoutSeconds: 25,
    });
  } finally {
    await Promise.all([gw, ...workers].map((m) => stopOne(m)));
  }
}

function rows(
  submit: Map<string, WrkFigures>,
  e2e: Map<Profile, JobsResult>,
  missing: Partial<Record<Profile, string>>,
): string[][] {
  const base = submit.get("sqlite")?.c16.rps ?? 0;
  const baseDone = e2e.get("sqlite")?.completedPerSecond ?? 0;
  const vs = (x: number, of: number) => (of > 0 ? ` (${fmtPct(x / of)} of SQLite)` : "");
  const out: string[][] = [];
  for (const p of PROFILES) {
    const s = submit.get(p);
    const e = e2e.get(p);
    if (!s || !e) {
      out.push([LABEL[p], "not run", "", "", "", missing[p] ?? "not run"]);
      continue;
    }
    out.push([
      LABEL[p],
      `${s.c16.rps.toFixed(0)}/s${p === "sqlite" ? "" : vs(s.c16.rps, base)}`,
      `${e.submitsPerSecond.toFixed(0)}/s`,
      `${e.completedPerSecond.toFixed(0)}/s${p === "sqlite" ? "" : vs(e.completedPerSecond, baseDone)}`,
      `${fmtPct(e.completedPerSecond / CEILING)}`,
      `${e.succeeded}/${e.submitted}, ${e.failed} failed, ${s.errors + e.submitErrors} errors${e.timedOut ? ", TIMED OUT" : ""}`,
    ]);
    const d = p === "nats" ? submit.get(NATS_DEFAULT_SYNC) : undefined;
    if (d) {
      const only = `submissions only, ${d.errors} errors`;
      out.push([
        NATS_DEFAULT_SYNC_LABEL,
        `${d.c16.rps.toFixed(0)}/s${vs(d.c16.rps, base)}`,
        "-",
        "-",
        "-",
        only,
      ]);
    }
  }
  return out;
}

function checks(submit: Map<string, WrkFigures>, e2e: Map<Profile, JobsResult>) {
  const out: TargetCheck[] = [];
  const servers = [
    ["nats", "sync_interval: always"],
    [NATS_DEFAULT_SYNC, "server-default sync"],
  ] as const;
  for (const [key, sync] of servers) {
    const f = submit.get(key);
    if (!f) continue;
    out.push({
      name: `NATS (${sync}): job submissions per second from one gateway (c16)`,
      measured: f.c16.rps.toFixed(0),
      limit: "≥ 5000",
      pass: f.c16.rps >= 5000 && f.errors === 0,
    });
  }
  for (const p of ["nats", "redis"] as const) {
    const e = e2e.get(p) as JobsResult;
    out.push({
      name: `${p === "nats" ? "NATS" : "Redis"}: completed jobs/s ÷ upstream ceiling (${CEILING}/s)`,
      measured: `${e.completedPerSecond.toFixed(0)}/s = ${fmtPct(e.completedPerSecond / CEILING)}`,
      limit: "≥ 80% (upstream-bound)",
      pass: e.completedPerSecond >= 0.8 * CEILING && !e.timedOut && e.succeeded === e.submitted,
    });
  }
  return out;
}

async function setSimDelay(simPort: number, delayMs: number): Promise<void> {
  const res = await request(`http://127.0.0.1:${simPort}/sim/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ delayMs }),
  });
  await res.body.dump();
  if (res.statusCode !== 200) throw new StartError(`the sim refused its faults (${res.statusCode})`);
}

export async function runDistributedScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const fleet = new ScenarioFleet(ctx);
  let brokers: Brokers | undefined;
  try {
    progress(
      "distributed: starting PostgreSQL, nats-server, redis-server, Kafka, nsqd, the sim and 5 gateways",
    );
    const sim = await fleet.sim("distributed-sim", "bench:instant");
    brokers = await startBrokers(ctx, fleet);
    const b = brokers;
    const profiles = PROFILES.filter((p) => b.missing[p] === undefined);
    const submitters = await Promise.all(
      profiles.map(async (p) =>
        fleet.gateway(`distributed-${p}-submit`, await profileConfig(p, "submit", b, sim.port)),
      ),
    );
    const keys: string[] = [...profiles];
    const labels: string[] = profiles.map((p) => LABEL[p]);
    if (profiles.includes("nats")) {
      const config = await profileConfig("nats", "submit_default_sync", b, sim.port, b.natsDefaultSyncUrl);
      submitters.push(await fleet.gateway(`distributed-${NATS_DEFAULT_SYNC}-submit`, config));
      keys.push(NATS_DEFAULT_SYNC);
      labels.push(NATS_DEFAULT_SYNC_LABEL);
    }
    // Short and single-round: this section measures 5 queues end to end as well, within its time box.
    const short = { ...ctx, opts: { ...ctx.opts, rounds: 1, seconds: Math.min(ctx.opts.seconds, 4) } };
    const submit = await measureInterleaved(
      short,
      keys.map((key, i) => ({
        key,
        label: `${labels[i]} submissions`,
        port: submitters[i]!.port,
        pid: submitters[i]!.pid,
      })),
      { body: JOB_BODY, path: "/v1/jobs", status: 202, c1: false },
    );
    await Promise.all(submitters.map((m) => stopOne(m)));
    await setSimDelay(sim.port, UPSTREAM_DELAY_MS);
    const count = Math.min(ctx.opts.jobs, 1_500);
    const e2e = new Map<Profile, JobsResult>();
    for (const p of profiles) e2e.set(p, await endToEnd(ctx, fleet, p, b, sim.port, count));
    return {
      section: "distributed",
      title: "Distributed profile: queues with 2 worker processes",
      notes: [
        `Submissions: wrk c16 on POST /v1/jobs, ${short.opts.seconds}s after a ${ctx.opts.warmupSeconds}s warm-up, one gateway per queue (\`workers: 0\`), interleaved.`,
        `End to end: per queue a gateway and ${WORKERS} \`switchyard worker\` processes (${CONCURRENCY} jobs at once each) on fresh state;`,
        `${count} jobs from ${CLIENTS} clients (after ${ctx.opts.warmupSeconds}s of warm-up batches); the sim answers after ${UPSTREAM_DELAY_MS} ms, so the upstream ceiling is ${CEILING} jobs/s.`,
        `Durable settings: SQLite WAL synchronous=FULL, NATS file storage with sync_interval: always, Redis appendfsync always, nsqd --mem-queue-size=0 --sync-every=1 (temp folders on ${fsType(b.scratch)}).`,
        "The server-default-sync NATS row (submissions only) is a second nats-server with JetStream's default sync (every 2 minutes): it survives a process kill but not a host crash, which a cluster with stream replicas covers (docs/queue-nats.md).",
        "Kafka: one KRaft node (384 MB heap), acks=all from an idempotent producer; Kafka does not fsync each write (its durability comes from replication). Kafka and nsqd are not pinned to the load CPU.",
        "PostgreSQL runs with fsync=off (a test server): its commits cost no disk flush here, unlike a production server.",
      ],
      table: {
        header: [
          "queue",
          "submissions/s (c16)",
          "submissions/s (workers running)",
          "completed jobs/s",
          "of upstream ceiling",
          "jobs",
        ],
        rows: rows(submit, e2e, b.missing),
      },
      checks: checks(submit, e2e),
      data: {
        submit: Object.fromEntries(submit),
        endToEnd: Object.fromEntries(e2e),
        workers: WORKERS,
        concurrency: CONCURRENCY,
        upstreamDelayMs: UPSTREAM_DELAY_MS,
        upstreamCeiling: CEILING,
      },
    };
  } finally {
    await fleet.stop();
    await Promise.all([brokers?.pg.cleanup(), brokers?.kafka?.cleanup(), brokers?.nsqd?.cleanup()]);
  }
}
