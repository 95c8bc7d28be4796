/** NATS-specific behaviour of the JetStream queue: restarts, outages, de-duplication, server-side leases. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { GatewayError } from "../../src/core/errors.js";
import { type NatsQueue, openNatsQueue } from "../../src/jobs/queue/nats.js";
import { type NatsQueueConfigInput, natsQueueConfigSchema } from "../../src/jobs/queue/nats-config.js";
import { NATS_SERVER, type NatsOptions, type NatsProc, natsAvailable, startNats } from "../helpers/nats.js";
import { exhaustedConformance } from "./queue-conformance.js";

let n = 0;
function config(server: NatsProc, extra: Partial<NatsQueueConfigInput> = {}) {
  n++;
  return natsQueueConfigSchema.parse({
    kind: "nats",
    servers: [server.url],
    stream: `FAULT_${n}`,
    subjectPrefix: `fault.t${n}`,
    reconnectWaitMs: 50,
    reconnectMaxWaitMs: 200,
    ...extra,
  });
}

const take = (q: NatsQueue, waitMs = 0, leaseMs = 5_000, max = 10) => q.receive({ max, leaseMs, waitMs });

/** For `assert.rejects`: the error is `queue_unavailable`. */
function queueUnavailable(err: unknown): true {
  assert.ok(err instanceof GatewayError);
  assert.equal(err.code, "queue_unavailable");
  return true;
}

/**
 * One nats-server for a `describe` block/**
 * One nats-server for a `describe` block (started before its tests, removed after them) and the
 * queues its tests open, all closed after them.
 */
function natsSuite(opts: NatsOptions = {}) {
  let server: NatsProc | undefined;
  const queues: NatsQueue[] = [];
  before(async () => {
    if (NATS_SERVER) server = await startNats(opts);
  });
  after(async () => {
    for (const q of queues) await q.close();
    await server?.cleanup();
  });
  return {
    /** The block's server (tests read it after `natsAvailable`, so it has started). */
    get server(): NatsProc {
      assert.ok(server, "nats-server is not running");
      return server;
    },
    async open(cfg: ReturnType<typeof config>): Promise<NatsQueue> {
      const q = await openNatsQueue(cfg, { pollIntervalMs: 50 });
      queues.push(q);
      return q;
    },
  };
}

describe("NATS queue: server restarts and outages", () => {
  // The durable setting docs/queue-nats.md recommends: every write synced before it is acked.
  const nats = natsSuite({ jetstream: "sync_interval: always" });

  test("messages published before a SIGKILL are delivered after the restart (file storage)", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server));
    await q.publish("a", "pa");
    await q.publish("b", "pb", { priority: 5 });
    await q.publish("later", "pl", { notBefore: Date.now() + 1_500 });
    await nats.server.kill();
    await nats.server.restart();
    const got = await take(q, 5_000);
    assert.deepEqual(
      got.map((d) => [d.id, d.payload, d.deliveries]),
      [
        ["b", "pb", 1],
        ["a", "pa", 1],
      ],
    );
    for (const d of got) assert.equal(await q.ack(d), true);
    // The delayed message (a server-side schedule) survived too and comes when due.
    const [late] = await take(q, 5_000);
    assert.equal(late?.id, "later");
    assert.equal(late?.deliveries, 1);
    assert.equal(await q.ack(late!), true);
    assert.deepEqual(await q.stats(), { ready: 0, leased: 0, dead: 0 });
  });

  test("publish during an outage rejects with queue_unavailable within the timeout; receive waits", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server, { publishTimeoutMs: 500 }));
    await q.publish("before", "1");
    await nats.server.stop();
    const started = Date.now();
    await assert.rejects(q.publish("during", "2"), queueUnavailable);
    const took = Date.now() - started;
    assert.ok(took >= 400 && took < 2_500, `rejected after ${took} ms`);
    const waitStarted = Date.now();
    assert.deepEqual(await take(q, 300), []);
    assert.ok(Date.now() - waitStarted >= 250, "an outage receive returns at its wait, not at once");
    await nats.server.restart();
    // The client reconnects by itself; the message stored before the outage is still there.
    const got = await take(q, 5_000);
    assert.deepEqual(
      got.map((d) => d.id),
      ["before"],
    );
    await q.ack(got[0]!);
    await q.publish("after", "3");
    const [last] = await take(q, 2_000);
    assert.equal(last?.id, "after");
    assert.equal(await q.ack(last!), true);
    // The rejected publish was never sent: nothing else is in the queue.
    assert.deepEqual(await q.stats(), { ready: 0, leased: 0, dead: 0 });
  });

  test("a publish during a short outage waits for the reconnect and is stored", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server, { publishTimeoutMs: 5_000 }));
    await nats.server.stop();
    const publishing = q.publish("blip", "1");
    await sleep(300);
    await nats.server.restart();
    await publishing;
    const [d] = await take(q, 2_000);
    assert.equal(d?.id, "blip");
    assert.equal(await q.ack(d!), true);
  });

  test("an unconfirmed ack returns at once during an outage; a message it did not reach comes back after ackWaitMs", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server, { requestTimeoutMs: 1_000, ackWaitMs: 1_500 }));
    await q.publish("a", "1");
    await q.publish("b", "2");
    const [d, e] = await take(q, 2_000, 60_000);
    assert.ok(d && e);
    await nats.server.stop();
    const started = Date.now();
    assert.equal(await q.ack(d, { confirm: false }), true);
    assert.ok(Date.now() - started < 200, "an unconfirmed ack does not wait for the server");
    // A confirmed ack needs the server's answer: it fails.
    await assert.rejects(q.ack(e), queueUnavailable);
    await nats.server.restart();
    // The server never confirmed e's ack, so e comes back once its ack_wait is over; d comes back
    // too if its ack was lost with the connection (the job worker's claim then refuses to run it).
    const back = new Map<string, number>();
    for (let i = 0; i < 60 && !back.has("b"); i++) {
      for (const x of await take(q, 100, 60_000)) {
        back.set(x.id, x.deliveries);
        assert.equal(await q.ack(x), true);
      }
    }
    assert.equal(back.get("b"), 2);
    if (back.has("a")) assert.equal(back.get("a"), 2);
    assert.deepEqual(await q.stats(), { ready: 0, leased: 0, dead: 0 });
  });

  test("a message answering a pull that was given up on (the server stalled) is handed back at once", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server, { requestTimeoutMs: 300, ackWaitMs: 30_000 }));
    await q.publish("m", "p");
    await nats.server.pause();
    try {
      // Every class's pull times out while the server is stopped: nothing is handed out.
      assert.deepEqual(await take(q), []);
    } finally {
      nats.server.resume();
    }
    // The server now answers those pulls, while no pull is open: the message it sends for the
    // abandoned one goes back at once (a nak), and comes again as a second delivery well before the
    // 30 s ack_wait. (Had it not been nakked, it would stay leased for the whole ack_wait.)
    await sleep(1_000);
    const started = Date.now();
    const [again] = await take(q, 5_000);
    assert.equal(again?.id, "m");
    assert.equal(again?.deliveries, 2);
    assert.ok(Date.now() - started < 4_000);
  });

  test("opening against a server that is down rejects with queue_unavailable", async (t) => {
    if (!natsAvailable(t)) return;
    const cfg = config(nats.server, { servers: ["nats://127.0.0.1:1"], connectTimeoutMs: 500 });
    await assert.rejects(openNatsQueue(cfg), queueUnavailable);
  });
});

describe("NATS queue: server-side behaviour", () => {
  const nats = natsSuite();

  exhaustedConformance(
    "nats",
    async (maxDeliver, t) => (natsAvailable(t) ? nats.open(config(nats.server, { maxDeliver })) : undefined),
    /^max_deliveries: delivered \d+ times without being settled \(maxDeliver 2\)/,
  );

  test("a message without the queue's id header is dead-lettered as malformed, not handed out", async (t) => {
    if (!natsAvailable(t)) return;
    const cfg = config(nats.server);
    const q = await nats.open(cfg);
    const nc = await connect({ servers: nats.server.url });
    try {
      // Written by something else onto the default priority class's subjects (class 1 of 1, 0, -1000).
      await jetstream(nc).publish(`${cfg.subjectPrefix}.q.1.foreign`, "not a job");
    } finally {
      await nc.close();
    }
    assert.deepEqual(await take(q, 500), []);
    let dead = await q.deadLetters(10);
    for (let i = 0; i < 50 && dead.length === 0; i++) {
      await sleep(100);
      dead = await q.deadLetters(10);
    }
    assert.deepEqual(
      dead.map((d) => [d.payload, d.deliveries]),
      [["not a job", 1]],
    );
    assert.match(dead[0]?.id ?? "", /^seq:\d+$/);
    assert.match(dead[0]?.reason ?? "", /^malformed: a message without the Sy-Id header/);
  });

  test("a duplicate publish of one id (from two connections) stores one message", async (t) => {
    if (!natsAvailable(t)) return;
    const cfg = config(nats.server);
    const a = await nats.open(cfg);
    const b = await nats.open(cfg);
    await a.publish("job-1.3", "first");
    await b.publish("job-1.3", "second");
    await a.publish("job-1.3", "third", { notBefore: Date.now() + 60_000 });
    assert.equal((await a.stats()).ready, 1);
    const got = await take(b);
    assert.deepEqual(
      got.map((d) => [d.id, d.payload]),
      [["job-1.3", "first"]],
    );
  });

  test("past the duplicate window, publish is still a no-op while the id's message is in the stream", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server, { duplicateWindowMs: 100 }));
    const again = async (payload: string, notBefore?: number) => {
      await sleep(150); // the duplicate window is over
      await q.publish("j", payload, notBefore === undefined ? {} : { notBefore });
    };
    await q.publish("j", "1");
    await again("2");
    assert.equal((await q.stats()).ready, 1);
    const [d] = await take(q);
    await again("3");
    assert.equal(await q.nack(d!, 60_000), true);
    await again("4", Date.now() + 60_000);
    const s = await q.stats();
    assert.equal(s.ready + s.leased, 1);
    // Once the message is gone, the id can be published again.
    const nc = await connect({ servers: nats.server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(`FAULT_${n}`);
    await nc.close();
    await q.publish("j", "5");
    assert.deepEqual(
      (await take(q)).map((x) => x.payload),
      ["5"],
    );
    // A scheduled message is replaced rather than duplicated.
    await q.publish("k", "a", { notBefore: Date.now() + 60_000 });
    await again("b", Date.now() + 60_000);
    assert.deepEqual(await q.stats(), { ready: 1, leased: 1, dead: 0 });
  });

  test("an unconfirmed ack ends the lease at once; the message is not delivered again", async (t) => {
    if (!natsAvailable(t)) return;
    const cfg = config(nats.server, { ackWaitMs: 1_000 });
    const a = await nats.open(cfg);
    const b = await nats.open(cfg);
    await a.publish("m", "p");
    const [d] = await take(a, 2_000);
    assert.ok(d);
    assert.equal(await a.ack(d, { confirm: false }), true);
    assert.equal(await a.ack(d, { confirm: false }), false, "the lease is over");
    assert.equal(await a.ack(d), false);
    // Past ackWaitMs: an ack the server never applied would have brought the message back by now.
    assert.deepEqual(await take(b, 1_800), []);
    assert.deepEqual(await a.stats(), { ready: 0, leased: 0, dead: 0 });
    // A lapsed lease is refused without sending anything.
    await a.publish("n", "q");
    const [late] = await take(a, 2_000, 100);
    await sleep(150);
    assert.equal(await a.ack(late!, { confirm: false }), false);
  });

  test("a message whose holder went away is redelivered after ackWaitMs with deliveries = 2", async (t) => {
    if (!natsAvailable(t)) return;
    const cfg = config(nats.server, { ackWaitMs: 1_000 });
    const a = await nats.open(cfg);
    const b = await nats.open(cfg);
    await a.publish("m", "p");
    const [first] = await take(a, 0, 60_000);
    assert.equal(first?.deliveries, 1);
    await a.close(); // no ack, no more progress acks: only the server's lease is left
    const started = Date.now();
    const [again] = await take(b, 5_000);
    const waited = Date.now() - started;
    assert.equal(again?.id, "m");
    assert.equal(again?.deliveries, 2);
    assert.ok(waited >= 500 && waited < 4_000, `redelivered after ${waited} ms`);
  });

  test("a lease longer than ackWaitMs is kept by progress acks, then runs out", async (t) => {
    if (!natsAvailable(t)) return;
    const cfg = config(nats.server, { ackWaitMs: 1_000 });
    const a = await nats.open(cfg);
    const b = await nats.open(cfg);
    await a.publish("m", "p");
    const [d] = await take(a, 0, 2_500);
    assert.ok(d);
    assert.deepEqual(await take(b, 1_800), [], "taken while the lease was kept");
    assert.equal((await a.stats()).leased, 1);
    const [again] = await take(b, 3_000);
    assert.equal(again?.deliveries, 2);
    assert.equal(await a.ack(d), false);
    assert.equal(await b.ack(again!), true);
  });

  test("notBefore: a scheduled message is not handed out before it is due", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server));
    assert.equal(q.usesSchedules, true, "nats-server 2.12+ supports message schedules");
    const due = Date.now() + 1_200;
    await q.publish("s", "p", { notBefore: due, priority: 3 });
    assert.equal((await q.stats()).ready, 1);
    const got = await take(q, 5_000);
    assert.ok(Date.now() >= due, "delivered before notBefore");
    assert.deepEqual(
      got.map((x) => [x.id, x.priority, x.deliveries]),
      [["s", 3, 1]],
    );
  });

  test("notBefore with delayedDelivery redeliver: held back by a delayed nak", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server, { delayedDelivery: "redeliver" }));
    assert.equal(q.usesSchedules, false);
    const due = Date.now() + 800;
    await q.publish("r", "p", { notBefore: due });
    assert.deepEqual(await take(q, 300), []);
    const got = await take(q, 5_000);
    assert.ok(Date.now() >= due, "delivered before notBefore");
    assert.equal(got[0]?.id, "r");
    // The early delivery that was put back counts (documented for this mode).
    assert.equal(got[0]?.deliveries, 2);
  });

  test("a lower priority class is served only when higher ones are empty", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await nats.open(config(nats.server));
    for (let i = 0; i < 5; i++) await q.publish(`low${i}`, "l", { priority: -5 });
    for (let i = 0; i < 5; i++) await q.publish(`mid${i}`, "m", { priority: 0 });
    await q.publish("top", "t", { priority: 1_000 });
    const got = await take(q, 0, 5_000, 3);
    assert.deepEqual(
      got.map((d) => d.id),
      ["top", "mid0", "mid1"],
    );
    const rest = await take(q, 0, 5_000, 20);
    assert.deepEqual(
      rest.map((d) => d.id),
      ["mid2", "mid3", "mid4", "low0", "low1", "low2", "low3", "low4"],
    );
  });

  test("reopening with changed settings updates the consumers; a foreign stream is refused", async (t) => {
    if (!natsAvailable(t)) return;
    const cfg = config(nats.server, { ackWaitMs: 30_000 });
    const a = await nats.open(cfg);
    await a.publish("kept", "p");
    const b = await nats.open({ ...cfg, ackWaitMs: 2_000, maxAckPending: 7 });
    const got = await take(b);
    assert.equal(got[0]?.id, "kept");
    await b.close();
    const nc = await connect({ servers: nats.server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const ci = await jsm.consumers.info(cfg.stream, `${cfg.consumer}-p0`);
      assert.equal(ci.config.ack_wait, nanos(2_000));
      assert.equal(ci.config.max_ack_pending, 7);
      const si = await jsm.streams.info(cfg.stream);
      assert.equal(si.config.retention, "workqueue");
      assert.equal(si.config.storage, "file");
      assert.equal(si.config.duplicate_window, nanos(cfg.duplicateWindowMs));
    } finally {
      await nc.close();
    }
    await assert.rejects(nats.open({ ...cfg, stream: `${cfg.stream}_DEAD` }), /workqueue retention/);
  });
});

describe("NATS queue: credentials", () => {
  const nats = natsSuite({ user: "sy", password: "s3cret" });

  test("user and password are sent; a wrong password fails with queue_unavailable", async (t) => {
    if (!natsAvailable(t)) return;
    const q = await openNatsQueue(config(nats.server, { user: "sy", password: "s3cret" }));
    await q.publish("x", "1");
    assert.equal((await take(q))[0]?.id, "x");
    await q.close();
    await assert.rejects(
      openNatsQueue(config(nats.server, { user: "sy", password: "wrong", connectTimeoutMs: 1_000 })),
      queueUnavailable,
    );
  });
});
