import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultConfigInput, parseConfig } from "../../src/config/load.js";
import { createQueue } from "../../src/jobs/queue/index.js";
import { openNatsQueue } from "../../src/jobs/queue/nats.js";
import { type NatsQueueConfigInput, natsQueueConfigSchema } from "../../src/jobs/queue/nats-config.js";
import { parseAckSubject } from "../../src/jobs/queue/nats-pull.js";
import { priorityClass, serverAtLeast } from "../../src/jobs/queue/nats-topology.js";
import { NATS_SERVER, type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
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
    server = await startNats();
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

test("ack subjects of both formats give the stream sequence and the delivery count", () => {
  assert.deepEqual(parseAckSubject("$JS.ACK.Q.c0.3.17.5.1700000000000000000.0"), { seq: 17, deliveries: 3 });
  assert.deepEqual(parseAckSubject("$JS.ACK.hub.ACC.Q.c0.2.9.4.1700000000000000000.1.xyz"), {
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
