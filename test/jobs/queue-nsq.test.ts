import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { defaultConfigInput, parseConfig } from "../../src/config/load.js";
import { createQueue } from "../../src/jobs/queue/index.js";
import { type NsqQueue, openNsqQueue } from "../../src/jobs/queue/nsq.js";
import {
  type NsqQueueConfigInput,
  nsqPriorityClass,
  nsqQueueConfigSchema,
} from "../../src/jobs/queue/nsq-config.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/jobs/queue/nsq-envelope.js";
import {
  NSQD,
  NSQLOOKUPD,
  type NsqdProc,
  nsqAvailable,
  startNsqd,
  startNsqlookupd,
  warmTopics,
} from "../helpers/nsq.js";
import { exhaustedConformance, queueConformance } from "./queue-conformance.js";

let nsqd: NsqdProc | undefined;
let n = 0;
/** Topic prefixes made (and known to nsqd's timeout scan) before the tests run: one per queue. */
const PREFIXES = 30;

/** A fresh topic prefix on the shared nsqd, so every test starts empty. */
function config(extra: Partial<NsqQueueConfigInput> = {}) {
  n++;
  assert.ok(n <= PREFIXES, "raise PREFIXES");
  return nsqQueueConfigSchema.parse({
    kind: "nsq",
    nsqd: [{ tcpAddress: nsqd!.tcpAddress, httpAddress: nsqd!.httpAddress }],
    topicPrefix: `conf_t${n}`,
    publishTimeoutMs: 2_000,
    ...extra,
  });
}

/** Retries `check` for up to a second (nsqd applies FIN / REQ after they are sent, unconfirmed). */
async function eventually(check: () => Promise<void>): Promise<void> {
  const until = Date.now() + 1_000;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(25);
    }
  }
}

const take = (q: NsqQueue, waitMs = 0, leaseMs = 5_000, max = 10) => q.receive({ max, leaseMs, waitMs });

if (NSQD && NSQLOOKUPD) {
  const queues: NsqQueue[] = [];
  const open = async (cfg: ReturnType<typeof config>) => {
    const q = await openNsqQueue(cfg);
    queues.push(q);
    return q;
  };
  before(async () => {
    nsqd = await startNsqd();
    const topics = Array.from({ length: PREFIXES }, (_, i) => {
      const p = `conf_t${i + 1}`;
      return [`${p}_p0`, `${p}_p1`, `${p}_p2`, `${p}_dead`];
    });
    await warmTopics(nsqd.httpAddress, topics.flat(), "workers");
  });
  after(async () => {
    for (const q of queues) await q.close();
    await nsqd?.cleanup();
  });

  queueConformance(
    "nsq",
    async () => {
      const cfg = config();
      return { open: () => openNsqQueue(cfg), cleanup: async () => {} };
    },
    { publishDedupe: "handle" },
  );

  exhaustedConformance(
    "nsq",
    async (maxAttempts) => open(config({ maxAttempts })),
    /^max_attempts: delivered \d+ times without being settled \(maxAttempts 2\)/,
  );

  describe("NSQ specifics", () => {
    test("nack with a delay is a REQ with that delay; deliveries is nsqd's attempts counter", async () => {
      const q = await open(config());
      await q.publish("m", "p");
      const [d1] = await take(q);
      assert.equal(d1?.deliveries, 1);
      const nacked = Date.now();
      assert.equal(await q.nack(d1!, 400), true);
      // FIN and REQ are not confirmed by nsqd: its stats follow within moments.
      await eventually(async () =>
        assert.equal((await q.stats()).ready, 1, "the REQ'd message counts as ready"),
      );
      const [d2] = await take(q, 3_000);
      const waited = Date.now() - nacked;
      assert.ok(waited >= 380 && waited < 2_000, `delivered again after ${waited} ms`);
      assert.equal(d2?.deliveries, 2);
      assert.equal(await q.nack(d2!, 0), true);
      const [d3] = await take(q, 2_000);
      assert.equal(d3?.deliveries, 3);
      assert.equal(await q.ack(d3!), true);
      await eventually(async () => assert.deepEqual(await q.stats(), { ready: 0, leased: 0, dead: 0 }));
    });

    test("a lease longer than msgTimeoutMs is kept by TOUCH, then runs out and goes to another handle", async () => {
      const cfg = config({ msgTimeoutMs: 1_000 });
      const a = await open(cfg);
      const b = await open(cfg);
      await a.publish("m", "p");
      const [d] = await take(a, 0, 2_600);
      assert.ok(d);
      assert.deepEqual(await take(b, 1_900), [], "taken while the lease was kept by TOUCH");
      assert.equal((await a.stats()).leased, 1);
      const [again] = await take(b, 3_000);
      assert.equal(again?.id, "m");
      assert.equal(again?.deliveries, 2);
      assert.equal(await a.ack(d), false);
      assert.equal(await b.ack(again!), true);
    });

    test("extend TOUCHes: a message held past msgTimeoutMs by extend is not redelivered", async () => {
      const cfg = config({ msgTimeoutMs: 1_000 });
      const a = await open(cfg);
      const b = await open(cfg);
      await a.publish("m", "p");
      const [d] = await take(a, 0, 800);
      for (let i = 0; i < 4; i++) {
        await sleep(400);
        assert.equal(await a.extend(d!, 800), true, `extend ${i}`);
      }
      assert.deepEqual(await take(b), []);
      assert.equal(await a.ack(d!), true);
    });

    test("a message whose holder went away is redelivered by nsqd after msgTimeoutMs", async () => {
      const cfg = config({ msgTimeoutMs: 1_000 });
      const a = await open(cfg);
      const b = await open(cfg);
      await a.publish("m", "p");
      const [first] = await take(a, 0, 60_000);
      assert.equal(first?.deliveries, 1);
      await a.close(); // no FIN, no REQ, no more TOUCH: only nsqd's timeout is left
      const started = Date.now();
      const [again] = await take(b, 5_000);
      const waited = Date.now() - started;
      assert.equal(again?.id, "m");
      assert.equal(again?.deliveries, 2);
      assert.ok(waited >= 500 && waited < 4_000, `redelivered after ${waited} ms`);
    });

    test("notBefore is a deferred publish: not handed out before it is due", async () => {
      const q = await open(config());
      const due = Date.now() + 700;
      await q.publish("s", "p", { notBefore: due, priority: 2 });
      assert.equal((await q.stats()).ready, 1);
      assert.deepEqual(await take(q, 200), []);
      const got = await take(q, 5_000);
      assert.ok(Date.now() >= due, "delivered before notBefore");
      assert.deepEqual(
        got.map((x) => [x.id, x.priority, x.deliveries]),
        [["s", 2, 1]],
      );
    });

    test("a notBefore beyond maxReqTimeoutMs is taken in hops, never handed out early", async () => {
      const q = await open(config({ maxReqTimeoutMs: 1_000 }));
      const due = Date.now() + 2_200;
      await q.publish("far", "p", { notBefore: due });
      const got = await take(q, 6_000);
      assert.ok(Date.now() >= due, "delivered before notBefore");
      assert.equal(got[0]?.id, "far");
      // Each early arrival was a delivery put back with REQ (documented).
      assert.ok((got[0]?.deliveries ?? 0) >= 2, `deliveries ${got[0]?.deliveries}`);
    });

    test("a lower priority class is served only when higher ones are empty", async () => {
      const q = await open(config());
      for (let i = 0; i < 5; i++) await q.publish(`low${i}`, "l", { priority: -5 });
      for (let i = 0; i < 5; i++) await q.publish(`mid${i}`, "m", { priority: 0 });
      await q.publish("top", "t", { priority: 1_000 });
      const got = await take(q, 0, 5_000, 3);
      assert.equal(got[0]?.id, "top");
      assert.deepEqual(
        got.slice(1).map((d) => d.id.slice(0, 3)),
        ["mid", "mid"],
      );
      const rest = await take(q, 0, 5_000, 20);
      assert.deepEqual(
        rest.map((d) => d.id.slice(0, 3)),
        ["mid", "mid", "mid", "low", "low", "low", "low", "low"],
      );
    });

    test("publish dedupe is forgotten once this handle acked the message", async () => {
      const q = await open(config());
      await q.publish("j", "1");
      await q.publish("j", "2");
      const [d] = await take(q);
      assert.equal(d?.payload, "1");
      assert.equal(await q.ack(d!), true);
      await q.publish("j", "3");
      assert.deepEqual(
        (await take(q, 2_000)).map((x) => x.payload),
        ["3"],
      );
    });

    test("consumers find nsqd nodes through nsqlookupd", async () => {
      const lookupd = await startNsqlookupd();
      const other = await startNsqd({ lookupd: [lookupd.tcpAddress] });
      try {
        const prefix = config().topicPrefix;
        const onOther = nsqQueueConfigSchema.parse({
          kind: "nsq",
          nsqd: [{ tcpAddress: other.tcpAddress, httpAddress: other.httpAddress }],
          topicPrefix: prefix,
        });
        // Configured with the shared nsqd only; the other one is known to nsqlookupd.
        const viaLookupd = config({
          topicPrefix: prefix,
          lookupdHttpAddresses: [lookupd.httpAddress],
          lookupdPollIntervalMs: 1_000,
        });
        const publisher = await open(onOther);
        await publisher.publish("elsewhere", "p", { priority: 1 });
        const consumer = await open(viaLookupd);
        const got = await take(consumer, 5_000);
        assert.deepEqual(
          got.map((d) => [d.id, d.deliveries]),
          [["elsewhere", 1]],
        );
        assert.equal(await consumer.ack(got[0]!), true);
        await eventually(async () =>
          assert.deepEqual(await consumer.stats(), { ready: 0, leased: 0, dead: 0 }),
        );
        await publisher.close();
        await consumer.close();
      } finally {
        await other.cleanup();
        await lookupd.cleanup();
      }
    });

    test("jobs.queue kind nsq parses with defaults and createQueue opens it", async () => {
      const cfg = parseConfig({
        ...defaultConfigInput(),
        jobs: {
          queue: {
            kind: "nsq",
            nsqd: [{ tcpAddress: nsqd!.tcpAddress, httpAddress: nsqd!.httpAddress }],
            topicPrefix: "factory",
          },
        },
      });
      const qc = cfg.jobs.queue;
      assert.equal(qc.kind, "nsq");
      if (qc.kind !== "nsq") return;
      assert.equal(qc.channel, "workers");
      assert.equal(qc.msgTimeoutMs, 60_000);
      assert.deepEqual(qc.priorityClasses, [1, 0, -1000]);
      const queue = await createQueue(qc, cfg.store);
      try {
        assert.equal(queue.kind, "nsq");
        await queue.publish("f", "1");
        assert.equal((await queue.receive({ max: 1, leaseMs: 1_000, waitMs: 1_000 }))[0]?.id, "f");
      } finally {
        await queue.close();
      }
    });
  });
} else {
  test("Queue conformance: nsq", (t) => {
    nsqAvailable(t);
  });
}

test("envelopes round-trip; foreign bodies are not envelopes; priority classes by bound", () => {
  const e = { id: "j.3", payload: "job-1", priority: -2, notBefore: 1_700_000_000_000 };
  assert.deepEqual(decodeEnvelope(encodeEnvelope(e)), e);
  assert.equal(decodeEnvelope("not json"), undefined);
  assert.equal(decodeEnvelope('{"v":2,"i":"x"}'), undefined);
  assert.deepEqual(
    [1000, 1, 0, -1, -1000, -5000].map((p) => nsqPriorityClass([1, 0, -1000], p)),
    [0, 0, 1, 2, 2, 2],
  );
});

test("the nsq config refuses bad addresses and names", () => {
  const bad = [
    { nsqd: [{ tcpAddress: "http://x:4150", httpAddress: "x:4151" }] },
    { nsqd: [] },
    { topicPrefix: "has space" },
    { channel: "a/b" },
    { priorityClasses: [0, 1] },
    { lookupdHttpAddresses: ["x"] },
    { reconnectWaitMs: 1_000, reconnectMaxWaitMs: 500 },
    { extra: true },
  ];
  for (const b of bad) {
    assert.equal(nsqQueueConfigSchema.safeParse({ kind: "nsq", ...b }).success, false, JSON.stringify(b));
  }
  assert.equal(nsqQueueConfigSchema.parse({ kind: "nsq" }).nsqd[0]?.tcpAddress, "127.0.0.1:4150");
});
