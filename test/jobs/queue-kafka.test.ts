import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultConfigInput, parseConfig } from "../../src/config/load.js";
import { createQueue } from "../../src/jobs/queue/index.js";
import { openKafkaQueue } from "../../src/jobs/queue/kafka.js";
import { type KafkaQueueConfigInput, kafkaQueueConfigSchema } from "../../src/jobs/queue/kafka-config.js";
import { encodeOwned, stickyAssign } from "../../src/jobs/queue/kafka-link.js";
import { type Fetched, Tracker } from "../../src/jobs/queue/kafka-tracker.js";
import { priorityClass } from "../../src/jobs/queue/net-config.js";
import { KAFKA_MISSING, type KafkaProc, kafkaAvailable, startKafka } from "../helpers/kafka.js";
import { exhaustedConformance, queueConformance } from "./queue-conformance.js";

let broker: KafkaProc | undefined;
let n = 0;

/** Fresh topics and a fresh group on the shared broker, so every test starts empty. */
function config(extra: Partial<KafkaQueueConfigInput> = {}) {
  n++;
  return kafkaQueueConfigSchema.parse({
    kind: "kafka",
    brokers: [broker!.broker],
    topicPrefix: `conf.t${n}`,
    groupId: `conf-g${n}`,
    // One partition per topic: the group's first member keeps it, so leases never move mid-test.
    partitions: 1,
    sessionTimeoutMs: 3_000,
    heartbeatIntervalMs: 200,
    rebalanceTimeoutMs: 3_000,
    fetchMaxWaitMs: 200,
    publishTimeoutMs: 5_000,
    ...extra,
  });
}

if (!KAFKA_MISSING) {
  before(async () => {
    broker = await startKafka();
  });
  after(async () => {
    await broker?.cleanup();
  });
  queueConformance(
    "kafka",
    async () => {
      const cfg = config();
      return { open: () => openKafkaQueue(cfg), cleanup: async () => {} };
    },
    { redeliverTo: "owner" },
  );

  exhaustedConformance(
    "kafka",
    async (maxDeliver) => openKafkaQueue(config({ maxDeliver })),
    /^max_deliveries: delivered \d+ times without being settled \(maxDeliver 2\)/,
  );

  test("jobs.queue kind kafka: ${ENV} credentials, defaults, and createQueue opens it", async () => {
    const cfg = parseConfig(
      {
        ...defaultConfigInput(),
        jobs: {
          queue: {
            kind: "kafka",
            brokers: [broker!.broker],
            topicPrefix: "factory",
            sasl: { mechanism: "SCRAM-SHA-512", username: "switchyard", password: "${KAFKA_PASSWORD}" },
          },
        },
      },
      { KAFKA_PASSWORD: "from-env" },
    );
    const q = cfg.jobs.queue;
    assert.equal(q.kind, "kafka");
    if (q.kind !== "kafka") return;
    assert.equal(q.sasl?.password, "from-env");
    assert.equal(q.partitions, 12);
    assert.equal(q.groupId, "switchyard-workers");
    assert.deepEqual(q.priorityClasses, [1, 0, -1000]);
    // The test broker has no SASL listener: connect without it.
    const queue = await createQueue({ ...q, sasl: undefined, partitions: 2 }, cfg.store);
    try {
      assert.equal(queue.kind, "kafka");
      await queue.publish("f", "1");
      const [d] = await queue.receive({ max: 1, leaseMs: 1_000, waitMs: 5_000 });
      assert.equal(d?.id, "f");
      assert.equal(await queue.ack(d!), true);
    } finally {
      await queue.close();
    }
  });

  describe("kafka: partitions shared by a group", () => {
    test("two members split four partitions; each message is taken once and committed", async () => {
      const cfg = config({ partitions: 4 });
      const a = await openKafkaQueue(cfg);
      const b = await openKafkaQueue(cfg);
      try {
        // Both join (on their first receive) before anything is published: the split does not move.
        const joined = await Promise.all([a, b].map((q) => q.receive({ max: 1, leaseMs: 1_000, waitMs: 0 })));
        assert.deepEqual(joined, [[], []]);
        const ids = Array.from({ length: 40 }, (_, i) => `job-${i}`);
        for (const id of ids) await a.publish(id, id);
        const seen = new Map<string, string>();
        const drain = async (q: typeof a, name: string) => {
          for (let idle = 0; idle < 3; ) {
            const got = await q.receive({ max: 5, leaseMs: 30_000, waitMs: 500 });
            if (got.length === 0) idle++;
            for (const d of got) {
              assert.equal(seen.has(d.id), false, `${d.id} delivered twice`);
              seen.set(d.id, name);
              assert.equal(await q.ack(d), true);
            }
          }
        };
        await Promise.all([drain(a, "a"), drain(b, "b")]);
        assert.equal(seen.size, ids.length);
        const s = await a.stats();
        assert.equal(s.ready, 0, "everything settled was committed");
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
} else {
  test("Queue conformance: kafka", (t) => {
    kafkaAvailable(t);
  });
}

test("the sticky assignor keeps owned partitions and balances the rest", () => {
  const meta = {
    id: "c",
    brokers: new Map(),
    controllerId: 1,
    lastUpdate: 0,
    topics: new Map([
      ["q.p0", { id: "t0", partitions: [], partitionsCount: 4, lastUpdate: 0 }],
      ["q.p1", { id: "t1", partitions: [], partitionsCount: 4, lastUpdate: 0 }],
    ]),
  };
  const member = (memberId: string, units: number[]) =>
    [memberId, { memberId, version: 1, topics: ["q.p0", "q.p1"], metadata: encodeOwned(units) }] as [
      string,
      { memberId: string; version: number; topics: string[]; metadata: Buffer },
    ];
  const topics = new Set(["q.p0", "q.p1"]);
  const units = (r: ReturnType<typeof stickyAssign>, id: string) =>
    r.find((m) => m.memberId === id)?.assignments.get("q.p0")?.partitions ?? [];
  // A newcomer takes half; the old owner keeps the rest; both topics follow one split.
  let r = stickyAssign("z", new Map([member("z", [0, 1, 2, 3]), member("a", [])]), topics, meta);
  assert.equal(units(r, "z").length, 2);
  assert.equal(units(r, "a").length, 2);
  assert.deepEqual(r.find((m) => m.memberId === "a")?.assignments.get("q.p1")?.partitions, units(r, "a"));
  // One partition, two members: the owner keeps it.
  const one = {
    ...meta,
    topics: new Map([["q.p0", { id: "t0", partitions: [], partitionsCount: 1, lastUpdate: 0 }]]),
  };
  r = stickyAssign("a", new Map([member("a", []), member("z", [0])]), new Set(["q.p0"]), one);
  assert.deepEqual(units(r, "z"), [0]);
  assert.deepEqual(units(r, "a"), []);
  // Claims on partitions that no longer exist are dropped.
  r = stickyAssign("a", new Map([member("a", [7, 1]), member("b", [0])]), topics, meta);
  assert.deepEqual([...units(r, "a"), ...units(r, "b")].sort(), [0, 1, 2, 3]);
});

test("priority classes and the kafka config's checks", () => {
  assert.deepEqual(
    [1000, 1, 0, -1, -5000].map((p) => priorityClass([1, 0, -1000], p)),
    [0, 0, 1, 2, 2],
  );
  const bad = [
    { brokers: ["kafka://host:9092"] },
    { topicPrefix: "has/slash" },
    { heartbeatIntervalMs: 5_000, sessionTimeoutMs: 10_000 },
    { tls: { certFile: "c.pem" } },
    { priorityClasses: [0, 1] },
    { sasl: { mechanism: "PLAIN", username: "u" } },
  ];
  for (const b of bad) {
    assert.equal(kafkaQueueConfigSchema.safeParse({ kind: "kafka", ...b }).success, false, JSON.stringify(b));
  }
  assert.equal(kafkaQueueConfigSchema.parse({ kind: "kafka" }).brokers[0], "127.0.0.1:9092");
});

test("the member's tracker commits only past settled messages, skips repeats and duplicates, and drops lost partitions", () => {
  const t = new Tracker();
  const rec = (offset: number, id: string, extra: Partial<Fetched> = {}): Fetched => ({
    topic: "q.p0",
    partition: 0,
    offset: BigInt(offset),
    timestamp: offset,
    id,
    payload: id,
    priority: 0,
    notBefore: 0,
    deliveries: 0,
    ...extra,
  });
  assert.equal(t.add(rec(0, "a")), true);
  assert.equal(t.add(rec(1, "b", { notBefore: Date.now() + 60_000 })), true);
  assert.equal(t.add(rec(2, "a")), false, "a second copy of a live id is a duplicate");
  assert.equal(t.add(rec(0, "a")), false, "a re-fetch of a seen offset is ignored");
  const [a] = t.take(10, 1_000, Date.now());
  assert.equal(a?.id, "a");
  assert.equal(a?.count, 1);
  assert.deepEqual(t.commitPoints(), [], "nothing settled yet");
  t.done(a!);
  assert.deepEqual(
    t.commitPoints().map((p) => p.offset),
    [1n],
    "the delayed message at offset 1 holds the commit point",
  );
  t.committed("q.p0:0", 1n);
  // A lease that runs out comes back with one more delivery.
  assert.equal(t.add(rec(3, "c")), true);
  const [c] = t.take(10, 10, Date.now());
  assert.equal(t.lease(c!.leaseId, Date.now() + 20), undefined);
  const [again] = t.take(10, 1_000, Date.now() + 20);
  assert.equal(again?.id, "c");
  assert.equal(again?.count, 2);
  // The partition moves to another member: its messages and leases are gone here.
  assert.equal(t.revoke(new Set()), 2);
  assert.equal(t.lease(again!.leaseId, Date.now()), undefined);
  assert.equal(t.pending, 0);
});
