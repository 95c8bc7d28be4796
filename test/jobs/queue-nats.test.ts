import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect } from "@nats-io/transport-node";
import { defaultConfigInput, parseConfig } from "../../src/config/load.js";
import { createQueue } from "../../src/jobs/queue/index.js";
import { openNatsQueue } from "../../src/jobs/queue/nats.js";
import { type NatsQueueConfigInput, natsQueueConfigSchema } from "../../src/jobs/queue/nats-config.js";
import { parseAckSubject } from "../../src/jobs/queue/nats-pull.js";
import { serverAtLeast } from "../../src/jobs/queue/nats-topology.js";
import { priorityClass } from "../../src/jobs/queue/net-config.js";
import { NATS_SERVER, type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
import { freePort } from "../helpers/ports.js";
import { queueConformance } from "./queue-conformance.js";

let server: NatsProc | undefined;
let n = 0;

/** A fresh stream and subject prefix on the shared server, so every test starts empty. */
function config(extra: Partial<NatsQueueConfigInput> = {}) {
  n++;
  return natsQueueConfigSchema.parse({
    kind: "nats",
    servers: [server!.url],
    stream: `CONF_${n}`,
    subjectPrefix: `conf.t${n}`,
    publishTimeoutMs: 2_000,
    ...extra,
  });
}

if (NATS_SERVER) {
  before(async () => {
    server = await startNats({ monitorPort: await freePort() });
  });
  after(async () => {
    await server?.cleanup();
  });
  for (const mode of ["schedule", "redeliver"] as const) {
    describe(`delayedDelivery ${mode}`, () => {
      queueConformance(`nats (${mode})`, async () => {
        const cfg = config({ delayedDelivery: mode });
        return {
          open: () => openNatsQueue(cfg, { pollIntervalMs: 50 }),
          cleanup: async () => {},
        };
      });
    });
  }
  test("publishes confirmed together share one wake-up, and a handle that only publishes gets none", async () => {
    const cfg = config();
    const publisher = await openNatsQueue(cfg, { pollIntervalMs: 50 });
    const consumer = await openNatsQueue(cfg, { pollIntervalMs: 5_000 });
    const nc = await connect({ servers: server!.url });
    let wakes = 0;
    nc.subscribe(`${cfg.subjectPrefix}.wake`, {
      callback: () => {
        wakes++;
      },
    });
    await nc.flush();
    try {
      // The consumer waits (its poll interval is far longer than the test) until a wake-up arrives.
      const waiting = consumer.receive({ max: 50, leaseMs: 5_000, waitMs: 4_000 });
      await new Promise((r) => setTimeout(r, 200));
      const ids = Array.from({ length: 50 }, (_, i) => `w${i}`);
      const started = Date.now();
      await Promise.all(ids.map((id) => publisher.publish(id, "x")));
      const got = await waiting;
      assert.ok(got.length > 0, "the consumer was woken by the publishes");
      assert.ok(Date.now() - started < 2_000, "woken at once, not by its poll");
      await nc.flush();
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(wakes >= 1, "at least one wake-up was sent");
      assert.ok(wakes < 25, `50 concurrent publishes sent ${wakes} wake-ups (expected a few)`);
      // The publishing handle never called receive, so it is not subscribed to the wake-ups: only
      // the consumer's connection and this test's are.
      const res = await fetch(`${server!.monitorUrl}/connz?subs=1&limit=1000`);
      const connz = (await res.json()) as { connections: Array<{ subscriptions_list?: string[] }> };
      const wakeSubscribers = connz.connections.filter((c) =>
        c.subscriptions_list?.includes(`${cfg.subjectPrefix}.wake`),
      );
      assert.equal(wakeSubscribers.length, 2);
    } finally {
      await nc.close();
      await publisher.close();
      await consumer.close();
    }
  });

  test("jobs.queue kind nats: ${ENV} credentials, defaults, and createQueue opens it", async () => {
    const cfg = parseConfig(
      {
        ...defaultConfigInput(),
        jobs: {
          queue: {
            kind: "nats",
            servers: [server!.url],
            stream: "FACTORY",
            subjectPrefix: "factory",
            user: "${NATS_USER:-switchyard}",
            password: "${NATS_PASSWORD}",
          },
        },
      },
      { NATS_PASSWORD: "from-env" },
    );
    const q = cfg.jobs.queue;
    assert.equal(q.kind, "nats");
    if (q.kind !== "nats") return;
    assert.equal(q.user, "switchyard");
    assert.equal(q.password, "from-env");
    assert.equal(q.replicas, 1);
    assert.deepEqual(q.priorityClasses, [1, 0, -1000]);
    // The test server has no authorization: connect without the credentials.
    const queue = await createQueue({ ...q, user: undefined, password: undefined }, cfg.store);
    try {
      assert.equal(queue.kind, "nats");
      await queue.publish("f", "1");
      assert.equal((await queue.receive({ max: 1, leaseMs: 1_000, waitMs: 1_000 }))[0]?.id, "f");
    } finally {
      await queue.close();
    }
  });
} else {
  test("Queue conformance: nats", (t) => {
    natsAvailable(t);
  });
}

test("ack subjects of both formats give the consumer, the stream sequence and the delivery count", () => {
  assert.deepEqual(parseAckSubject("$JS.ACK.Q.c0.3.17.5.1700000000000000000.0"), {
    consumer: "c0",
    seq: 17,
    deliveries: 3,
  });
  assert.deepEqual(parseAckSubject("$JS.ACK.hub.ACC.Q.c1.2.9.4.1700000000000000000.1.xyz"), {
    consumer: "c1",
    seq: 9,
    deliveries: 2,
  });
  assert.equal(parseAckSubject("_INBOX.abc"), undefined);
  assert.equal(parseAckSubject(undefined), undefined);
});

test("message schedules are asked for from nats-server 2.12 on; priority classes by bound", () => {
  assert.equal(serverAtLeast("2.9.25", 2, 12), false);
  assert.equal(serverAtLeast("2.12.0", 2, 12), true);
  assert.equal(serverAtLeast("v2.15.2-beta.1", 2, 12), true);
  assert.equal(serverAtLeast("3.0.0", 2, 12), true);
  assert.equal(serverAtLeast(undefined, 2, 12), false);
  const bounds = [1, 0, -1000];
  assert.deepEqual(
    [1000, 1, 0, -1, -1000, -5000].map((p) => priorityClass(bounds, p)),
    [0, 0, 1, 2, 2, 2],
  );
});

test("the nats config refuses bad names and half credentials", () => {
  const bad = [
    { stream: "has.dot" },
    { subjectPrefix: "a.*" },
    { user: "u" },
    { token: "t", user: "u", password: "p" },
    { priorityClasses: [0, 1] },
    { servers: ["http://example.com"] },
  ];
  for (const b of bad) {
    assert.equal(natsQueueConfigSchema.safeParse({ kind: "nats", ...b }).success, false, JSON.stringify(b));
  }
  assert.equal(natsQueueConfigSchema.parse({ kind: "nats" }).servers[0], "nats://127.0.0.1:4222");
});
