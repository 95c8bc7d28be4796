/**
 * nats-server (JetStream file storage, `sync_interval: always`) is SIGKILLed for 5 s in the middle of
 * a steady stream of submissions to 2 gateways, with 2 workers running, PostgreSQL as the store and
 * Redis for the rate-limit counters. During the outage a submission is refused with 503
 * `queue_unavailable` and a `retry-after` (never a 202 for a job that is then lost; a refused one
 * leaves no job behind); afterwards every accepted job completes, on the same processes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
import { postgresAvailable } from "../helpers/postgres.js";
import { redisAvailable } from "../helpers/redis.js";
import { Cluster, pgQuery, simSetup, statusCounts, waitFor } from "./cluster.js";
import { withInfra } from "./kill-scenario.js";
import { submitLoop } from "./load.js";

const OUTAGE_MS = 5_000;

test("nats-server down for 5 s mid-run: 503 with retry-after meanwhile, every accepted job completes", {
  timeout: 100_000,
}, async (t) => {
  if (!postgresAvailable(t) || !natsAvailable(t) || !redisAvailable(t)) return;
  await withInfra(async (infra) => {
    let nats: NatsProc | undefined;
    let cluster: Cluster | undefined;
    try {
      nats = await startNats({ jetstream: "sync_interval: always" });
      await simSetup(infra.sim.url, 0);
      cluster = new Cluster(
        {
          simUrl: infra.sim.url,
          pgUrl: infra.pg.url(),
          limitsRedisUrl: infra.limits.url,
          // A publish waits up to 1 s for the connection to come back, then the client gets a 503.
          queue: { kind: "nats", url: nats.url, ackWaitMs: 3_000, publishTimeoutMs: 1_000 },
        },
        8,
      );
      await cluster.startGateway();
      await Promise.all([cluster.startGateway(), cluster.startWorker(), cluster.startWorker()]);
      const pids = [...cluster.gateways, ...cluster.workers].map((p) => p.proc.pid);
      const urls = cluster.gateways.map((g) => g.url);
      const load = submitLoop(() => urls, 8);
      await sleep(3_000);
      const downAt = Date.now();
      await nats.kill();
      await sleep(OUTAGE_MS);
      await nats.restart();
      const upAt = Date.now();
      t.diagnostic(`nats-server down for ${upAt - downAt} ms`);
      // Submissions go on until some are accepted again (bounded), then 2 s more.
      await waitFor(
        async () => load.outcomes.some((o) => o.at > upAt && o.status === 202),
        20_000,
        () => "no submission accepted after nats-server came back",
      );
      await sleep(2_000);
      const outcomes = await load.stop();

      const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.id!);
      const refused = outcomes.filter((o) => o.status !== 202);
      t.diagnostic(`${accepted.length} accepted, ${refused.length} refused`);
      for (const o of refused) {
        assert.equal(o.status, 503, JSON.stringify(o));
        assert.equal(o.code, "queue_unavailable", JSON.stringify(o));
        assert.match(o.retryAfter ?? "", /^[1-9]\d*$/, `503 without retry-after: ${JSON.stringify(o)}`);
      }
      assert.ok(refused.length > 0, "no submission was refused during the outage: the test proved little");
      assert.ok(
        refused.every((o) => o.at >= downAt),
        "refusals only once nats-server was down",
      );

      await waitFor(
        async () => (await statusCounts(infra.pg)).SUCCESS === accepted.length,
        45_000,
        async () => JSON.stringify(await statusCounts(infra.pg)),
        500,
      );
      const rows = await pgQuery<{ id: string; status: string }>(infra.pg, "SELECT id, status FROM jobs");
      assert.deepEqual(
        rows.map((r) => r.id).sort(),
        [...accepted].sort(),
        "the store holds exactly the accepted jobs: none lost, none left by a refused submission",
      );
      assert.ok(rows.every((r) => r.status === "SUCCESS"));
      for (const [i, p] of [...cluster.gateways, ...cluster.workers].entries()) {
        assert.equal(p.proc.exitCode, null, "no process exited");
        assert.equal(p.proc.pid, pids[i]);
      }
    } finally {
      await cluster?.stop();
      await nats?.cleanup();
    }
  });
});
