/**
 * The setup the NATS-queue fault tests share: PostgreSQL (store), the sim, Redis (rate-limit
 * counters) and a nats-server (queue), all started on free loopback ports, with 2 `switchyard
 * serve` and 2 `switchyard worker` processes over them; everything is stopped afterwards. Also the
 * checks those tests end with.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { type NatsOptions, type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
import { type PostgresProc, postgresAvailable } from "../helpers/postgres.js";
import { redisAvailable } from "../helpers/redis.js";
import { Cluster, type QueueSpec, simSetup, statusCounts, waitFor } from "./cluster.js";
import { type Infra, withInfra } from "./kill-scenario.js";

export interface NatsClusterOptions {
  /** nats-server settings (e.g. extra JetStream lines). */
  nats?: NatsOptions;
  /** Queue settings beyond the server's URL. */
  queue?: Omit<Extract<QueueSpec, { kind: "nats" }>, "kind" | "url">;
  /** Overrides of `jobs:`. */
  jobs?: Record<string, unknown>;
}

export interface NatsCluster {
  infra: Infra;
  nats: NatsProc;
  /** Gateways `[0]` and `[1]`, workers `[0]` and `[1]`, all running. */
  cluster: Cluster;
}

/**
 * Runs `fn` on 2 gateways and 2 workers over a fresh infrastructure with a NATS queue, and stops
 * everything after it. Without PostgreSQL, nats-server or Redis the test is skipped (with CI set,
 * failed) and `fn` does not run.
 */
export async function withNatsCluster(
  t: TestContext,
  opts: NatsClusterOptions,
  fn: (c: NatsCluster) => Promise<void>,
): Promise<void> {
  if (!postgresAvailable(t) || !natsAvailable(t) || !redisAvailable(t)) return;
  await withInfra(async (infra) => {
    let nats: NatsProc | undefined;
    let cluster: Cluster | undefined;
    try {
      nats = await startNats(opts.nats);
      await simSetup(infra.sim.url, 0);
      cluster = new Cluster(
        {
          simUrl: infra.sim.url,
          pgUrl: infra.pg.url(),
          limitsRedisUrl: infra.limits.url,
          queue: { kind: "nats", url: nats.url, ...opts.queue },
          ...(opts.jobs ? { jobs: opts.jobs } : {}),
        },
        8,
      );
      // The first gateway migrates the empty database; the others start together after it.
      await cluster.startGateway();
      await Promise.all([cluster.startGateway(), cluster.startWorker(), cluster.startWorker()]);
      await fn({ infra, nats, cluster });
    } finally {
      await cluster?.stop();
      await nats?.cleanup();
    }
  });
}

/** Waits (up to `timeoutMs`) until the job counts by status satisfy `done`. */
export async function waitForCounts(
  pg: PostgresProc,
  done: (counts: Record<string, number>) => boolean,
  timeoutMs = 45_000,
): Promise<void> {
  await waitFor(
    async () => done(await statusCounts(pg)),
    timeoutMs,
    async () => JSON.stringify(await statusCounts(pg)),
    500,
  );
}

/** No job is PENDING or RUNNING any more. */
export const settled = (c: Record<string, number>): boolean => c.PENDING === 0 && c.RUNNING === 0;

/** The pids of the cluster's processes, gateways first. */
export function processIds(cluster: Cluster): Array<number | undefined> {
  return [...cluster.gateways, ...cluster.workers].map((p) => p.proc.pid);
}

/** Every process of the cluster is still running, and none was replaced since `pids` was taken. */
export function assertSameProcesses(cluster: Cluster, pids: Array<number | undefined>): void {
  for (const [i, p] of [...cluster.gateways, ...cluster.workers].entries()) {
    assert.equal(p.proc.exitCode, null, "no process exited");
    assert.equal(p.proc.pid, pids[i]);
  }
}
