/**
 * PostgreSQL (the store of 2 gateways and 2 workers; NATS queue, Redis rate-limit counters) is
 * SIGKILLed, kept down for 3 s and started again in the middle of a steady stream of submissions. Meanwhile a
 * submission is refused with 503 `store_unavailable` and a `retry-after`; afterwards the same
 * processes (no restart) accept submissions again, answer reads, and every accepted job completes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
import { postgresAvailable } from "../helpers/postgres.js";
import { redisAvailable } from "../helpers/redis.js";
import { Cluster, pgQuery, simSetup, statusCounts, waitFor } from "./cluster.js";
import { withInfra } from "./kill-scenario.js";
import { submitLoop } from "./load.js";

test("PostgreSQL restarted mid-run: 503 store_unavailable meanwhile, then the same processes recover", {
  timeout: 100_000,
}, async (t) => {
  if (!postgresAvailable(t) || !natsAvailable(t) || !redisAvailable(t)) return;
  await withInfra(async (infra) => {
    let nats: NatsProc | undefined;
    let cluster: Cluster | undefined;
    try {
      nats = await startNats();
      await simSetup(infra.sim.url, 0);
      cluster = new Cluster(
        {
          simUrl: infra.sim.url,
          pgUrl: infra.pg.url(),
          limitsRedisUrl: infra.limits.url,
          queue: { kind: "nats", url: nats.url, ackWaitMs: 3_000 },
        },
        8,
      );
      await cluster.startGateway();
      await Promise.all([cluster.startGateway(), cluster.startWorker(), cluster.startWorker()]);
      const procs = [...cluster.gateways, ...cluster.workers];
      const pids = procs.map((p) => p.proc.pid);
      const urls = cluster.gateways.map((g) => g.url);
      const load = submitLoop(() => urls, 8);
      await sleep(3_000);
      const downAt = Date.now();
      // Killed (open connections break), kept down 3 s (new connections are refused), started again.
      await infra.pg.kill();
      await sleep(3_000);
      await infra.pg.restart();
      const upAt = Date.now();
      t.diagnostic(`PostgreSQL down for ${upAt - downAt} ms`);
      // Both gateways accept again (bounded), then 2 s more of submissions.
      await waitFor(
        async () =>
          urls.every((u) => load.outcomes.some((o) => o.at > upAt && o.status === 202 && o.base === u)),
        20_000,
        () => "a gateway accepted nothing after PostgreSQL came back",
      );
      await sleep(2_000);
      const outcomes = await load.stop();

      const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.id!);
      const refused = outcomes.filter((o) => o.status !== 202);
      t.diagnostic(`${accepted.length} accepted, ${refused.length} refused`);
      for (const o of refused) {
        assert.equal(o.status, 503, JSON.stringify(o));
        assert.equal(o.code, "store_unavailable", JSON.stringify(o));
        assert.match(o.retryAfter ?? "", /^[1-9]\d*$/, `503 without retry-after: ${JSON.stringify(o)}`);
      }
      assert.ok(
        refused.length > 0,
        "no submission was refused while PostgreSQL was down: the test proved little",
      );

      await waitFor(
        async () => {
          const c = await statusCounts(infra.pg);
          return c.PENDING === 0 && c.RUNNING === 0;
        },
        45_000,
        async () => JSON.stringify(await statusCounts(infra.pg)),
        500,
      );
      // Every accepted job completed. (A submission cut while its commit was in flight may have
      // made a job although its client got a 503; such a job completes too.)
      const rows = await pgQuery<{ id: string; status: string }>(infra.pg, "SELECT id, status FROM jobs");
      const status = new Map(rows.map((r) => [r.id, r.status]));
      assert.deepEqual(
        accepted.filter((id) => status.get(id) !== "SUCCESS"),
        [],
        "every accepted job is SUCCESS",
      );
      assert.ok(
        rows.every((r) => r.status === "SUCCESS"),
        JSON.stringify(await statusCounts(infra.pg)),
      );
      // Reads work on every gateway, and no process was restarted.
      for (const u of urls) {
        const res = await request(`${u}/v1/jobs/${accepted.at(-1)}`);
        assert.equal(res.statusCode, 200, await res.body.text());
        await res.body.dump();
      }
      for (const [i, p] of procs.entries()) {
        assert.equal(p.proc.exitCode, null, "no process exited");
        assert.equal(p.proc.pid, pids[i]);
      }
    } finally {
      await cluster?.stop();
      await nats?.cleanup();
    }
  });
});
