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
import { assertAcceptedAllSucceeded, assertRefusals, loadThroughOutage } from "./load.js";
import { assertSameProcesses, processIds, waitForCounts, withNatsCluster } from "./nats-cluster.js";

const OUTAGE_MS = 5_000;

test("nats-server down for 5 s mid-run: 503 with retry-after meanwhile, every accepted job completes", {
  timeout: 100_000,
}, async (t) => {
  const opts = {
    nats: { jetstream: "sync_interval: always" },
    // A publish waits up to 1 s for the connection to come back, then the client gets a 503.
    queue: { ackWaitMs: 3_000, publishTimeoutMs: 1_000 },
  };
  await withNatsCluster(t, opts, async ({ infra, nats, cluster }) => {
    const pids = processIds(cluster);
    const { outcomes, downAt } = await loadThroughOutage(
      cluster.gateways.map((g) => g.url),
      {
        name: "nats-server",
        run: async () => {
          await nats.kill();
          await sleep(OUTAGE_MS);
          await nats.restart();
        },
        recovered: (out, upAt) => out.some((o) => o.at > upAt && o.status === 202),
      },
      (msg) => t.diagnostic(msg),
    );

    const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.id!);
    const refused = outcomes.filter((o) => o.status !== 202);
    t.diagnostic(`${accepted.length} accepted, ${refused.length} refused`);
    assertRefusals(refused, "queue_unavailable", "during the outage");
    assert.ok(
      refused.every((o) => o.at >= downAt),
      "refusals only once nats-server was down",
    );

    await waitForCounts(infra.pg, (c) => c.SUCCESS === accepted.length);
    await assertAcceptedAllSucceeded(infra.pg, accepted);
    assertSameProcesses(cluster, pids);
  });
});
