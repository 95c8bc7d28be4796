/**
 * The distributed profile for fault tests: real `switchyard serve` and `switchyard worker` processes
 * (dist/cli/main.js) over PostgreSQL (store), NATS JetStream, Redis Streams, Kafka or NSQ (queue) and Redis
 * (rate-limit counters), all started by the test on free loopback ports. Everything here has a
 * deadline, and `Cluster.stop()` stops every process it started, whatever state the test left.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import type { PostgresProc } from "../helpers/postgres.js";
import { configFor, type Running, startCli, startGateway, writeTempConfig } from "../helpers/proc.js";

export const CHAT_JOB = {
  type: "chat.completion",
  request: { model: "sim-small", messages: [{ role: "user", content: "hi" }], max_tokens: 4 },
};

export type QueueSpec =
  | { kind: "nats"; url: string; ackWaitMs?: number; publishTimeoutMs?: number }
  | { kind: "redis"; url: string }
  | { kind: "kafka"; broker: string; publishTimeoutMs?: number }
  | {
      kind: "nsq";
      tcpAddress: string;
      httpAddress: string;
      msgTimeoutMs?: number;
      publishTimeoutMs?: number;
    };

/**
 * Kafka as tight as the adapter allows for fault tests: a SIGKILLed worker's partitions move after
 * `sessionTimeoutMs` (1 s, the adapter's minimum; the test broker allows 500 ms), heartbeats at a
 * third of it, a short rebalance window and fast reconnects.
 */
function kafkaQueue(q: Extract<QueueSpec, { kind: "kafka" }>): Record<string, unknown> {
  return {
    kind: "kafka",
    brokers: [q.broker],
    topicPrefix: "dist",
    groupId: "dist-workers",
    partitions: 4,
    sessionTimeoutMs: 1_000,
    heartbeatIntervalMs: 300,
    rebalanceTimeoutMs: 3_000,
    fetchMaxWaitMs: 200,
    publishTimeoutMs: q.publishTimeoutMs ?? 2_000,
    requestTimeoutMs: 2_000,
    connectTimeoutMs: 1_000,
    reconnectWaitMs: 50,
    reconnectMaxWaitMs: 500,
  };
}

/** NSQ on one nsqd; a crashed worker's messages come back after `msgTimeoutMs`. */
function nsqQueue(q: Extract<QueueSpec, { kind: "nsq" }>): Record<string, unknown> {
  return {
    kind: "nsq",
    nsqd: [{ tcpAddress: q.tcpAddress, httpAddress: q.httpAddress }],
    topicPrefix: "dist",
    msgTimeoutMs: q.msgTimeoutMs ?? 3_000,
    publishTimeoutMs: q.publishTimeoutMs ?? 2_000,
    requestTimeoutMs: 2_000,
    reconnectWaitMs: 50,
    reconnectMaxWaitMs: 500,
  };
}

export interface ClusterSpec {
  simUrl: string;
  pgUrl: string;
  queue: QueueSpec;
  /** Redis for the rate-limit counters (a global limit high enough never to refuse). */
  limitsRedisUrl?: string;
  /** Overrides of `jobs:` (lease, attempts, purge interval …). */
  jobs?: Record<string, unknown>;
}

function queueConfig(q: QueueSpec): Record<string, unknown> {
  if (q.kind === "redis") return { kind: "redis", url: q.url, name: "dist", commandTimeoutMs: 1_000 };
  if (q.kind === "kafka") return kafkaQueue(q);
  if (q.kind === "nsq") return nsqQueue(q);
  return {
    kind: "nats",
    servers: [q.url],
    stream: "DIST",
    subjectPrefix: "dist",
    ackWaitMs: q.ackWaitMs ?? 3_000,
    publishTimeoutMs: q.publishTimeoutMs ?? 2_000,
    requestTimeoutMs: 2_000,
    reconnectWaitMs: 50,
    reconnectMaxWaitMs: 500,
  };
}

/** One config for every gateway and worker of a test: the same store, queue and limits. */
export function clusterConfig(spec: ClusterSpec): Record<string, unknown> {
  return {
    ...configFor(spec.simUrl),
    logging: { level: "warn", accessLog: false },
    store: {
      kind: "postgres",
      url: spec.pgUrl,
      poolMax: 8,
      connectTimeoutMs: 1_000,
      statementTimeoutMs: 3_000,
    },
    ...(spec.limitsRedisUrl
      ? { limits: { store: { kind: "redis", url: spec.limitsRedisUrl }, global: { rpm: 100_000_000 } } }
      : {}),
    jobs: {
      workers: 0,
      leaseMs: 3_000,
      pollIntervalMs: 100,
      maxAttempts: 50,
      backoff: { baseMs: 10, maxMs: 100 },
      purgeIntervalMs: 1_000,
      ...spec.jobs,
      queue: queueConfig(spec.queue),
    },
  };
}

/** Gateways and workers of one test, all on one config; `stop()` ends them all. */
export class Cluster {
  readonly gateways: Running[] = [];
  readonly workers: Running[] = [];
  readonly #config: Record<string, unknown>;
  readonly #file: string;

  constructor(
    spec: ClusterSpec,
    readonly concurrency: number,
  ) {
    this.#config = clusterConfig(spec);
    this.#file = writeTempConfig(this.#config);
  }

  async startGateway(): Promise<Running> {
    const gw = await startGateway(this.#config);
    this.gateways.push(gw);
    return gw;
  }

  async startWorker(): Promise<Running> {
    const w = await startCli(
      ["worker", "--config", this.#file, "--concurrency", String(this.concurrency)],
      "switchyard worker started",
    );
    this.workers.push(w);
    return w;
  }

  /** SIGKILLs a worker and starts a new one in its place (same slot in `workers`). */
  async replaceWorker(i: number): Promise<void> {
    const old = this.workers[i];
    if (!old) throw new Error(`no worker ${i}`);
    old.proc.kill("SIGKILL");
    await old.exited;
    this.workers[i] = await startCli(
      ["worker", "--config", this.#file, "--concurrency", String(this.concurrency)],
      "switchyard worker started",
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers, ...this.gateways].map((p) => p.stop().catch(() => null)));
  }
}

export interface Submitted {
  status: number;
  id?: string;
  code?: string;
  retryAfter?: string;
  replayed: boolean;
}

/** POST /v1/jobs; a transport error (connection refused or reset) is thrown. */
export async function submitJob(
  base: string,
  body: unknown,
  opts: { key?: string; timeoutMs?: number } = {},
): Promise<Submitted> {
  const res = await request(`${base}/v1/jobs`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(opts.key === undefined ? {} : { "idempotency-key": opts.key }),
    },
    body: JSON.stringify(body),
    headersTimeout: opts.timeoutMs ?? 15_000,
    bodyTimeout: opts.timeoutMs ?? 15_000,
  });
  const json = (await res.body.json().catch(() => ({}))) as {
    id?: string;
    error?: { code?: string };
  };
  const retry = res.headers["retry-after"];
  return {
    status: res.statusCode,
    id: json.id,
    code: json.error?.code,
    retryAfter: typeof retry === "string" ? retry : undefined,
    replayed: res.headers["idempotent-replayed"] === "true",
  };
}

/** Job counts by status, read from PostgreSQL directly (cheap, whatever the number of jobs). */
export async function statusCounts(pg: PostgresProc, database?: string): Promise<Record<string, number>> {
  const rows = await pgQuery<{ status: string; n: number }>(
    pg,
    "SELECT status, count(*)::int AS n FROM jobs GROUP BY status",
    database,
  );
  const out: Record<string, number> = { PENDING: 0, RUNNING: 0, SUCCESS: 0, FAILED: 0, CANCELLED: 0 };
  for (const r of rows) out[r.status] = r.n;
  return out;
}

/** One statement on the test's database (or another database of the same server). */
export async function pgQuery<R extends Record<string, unknown>>(
  pg: PostgresProc,
  text: string,
  database?: string,
): Promise<R[]> {
  if (database === undefined) return pg.sql<R>(text);
  const { default: pgLib } = await import("pg");
  const c = new pgLib.Client({ connectionString: pg.url(database) });
  c.on("error", () => {});
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

/** Polls `check` every `everyMs` until it returns true; fails with `what()` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: () => Promise<string> | string,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${await what()}`);
    await sleep(everyMs);
  }
}

/** Upstream calls the sim has seen since its last reset. */
export async function simRequests(simUrl: string): Promise<number> {
  const res = await request(`${simUrl}/sim/stats`);
  return ((await res.body.json()) as { requests: number }).requests;
}

export async function simSetup(simUrl: string, delayMs: number): Promise<void> {
  await request(`${simUrl}/sim/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ delayMs }),
  }).then((r) => r.body.dump());
  await request(`${simUrl}/sim/stats/reset`, { method: "POST" }).then((r) => r.body.dump());
}
