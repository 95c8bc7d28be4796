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
import { pgQuery, statusCounts } from "./cluster.js";
import { assertRefusals, loadThroughOutage } from "./load.js";
import { assertSameProcesses, processIds, settled, waitForCounts, withNatsCluster } from "./nats-cluster.js";

test("PostgreSQL restarted mid-run: 503 store_unavailable meanwhile, then the same processes recover", {
  timeout: 100_000,
}, async (t) => {
  await withNatsCluster(t, { queue: { ackWaitMs: 3_000 } }, async ({ infra, cluster }) => {
    const pids = processIds(cluster);
    const urls = cluster.gateways.map((g) => g.url);
    const { outcomes } = await loadThroughOutage(
      urls,
      {
        name: "PostgreSQL",
        // Killed (open connections break), kept down 3 s (new connections are refused), started again.
        run: async () => {
          await infra.pg.kill();
          await sleep(3_000);
          await infra.pg.restart();
        },
        // Both gateways accept again.
        recovered: (out, upAt) =>
          urls.every((u) => out.some((o) => o.at > upAt && o.status === 202 && o.base === u)),
      },
      (msg) => t.diagnostic(msg),
    );

    const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.id!);
    const refused = outcomes.filter((o) => o.status !== 202);
    t.diagnostic(`${accepted.length} accepted, ${refused.length} refused`);
    assertRefusals(refused, "store_unavailable", "while PostgreSQL was down");

    await waitForCounts(infra.pg, settled);
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
    assertSameProcesses(cluster, pids);
  });
});
