import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Delivery, Queue } from "../../src/jobs/queue/types.js";

/** What an adapter documents it cannot do; every capability is on unless said otherwise. */
export interface QueueCapabilities {
  /**
   * Where `publish` is idempotent on id: `queue` (the default: any handle, any process) or `handle`
   * (only the handle that published the id; a publish of it from another handle queues a second
   * copy, which the job store's fence makes harmless). Documented per adapter.
   */
  publishDedupe?: "queue" | "handle";
  /**
   * Which handle gets a message again after its lease ran out: `any` (the default) or `owner` (only
   * the handle the broker gave the message's partition to, possibly the holder itself: Kafka's
   * consumer groups). Documented per adapter.
   */
  redeliverTo?: "any" | "owner";
}

/** Every `Queue` adapter runs this suite. `open(name)` gives two handles on one queue when called twice. */
export function queueConformance(
  kind: string,
  factory: () => Promise<{ open(): Promise<Queue>; cleanup(): Promise<void> }>,
  capabilities: QueueCapabilities = {},
): void {
  describe(`Queue conformance: ${kind}`, () => {
    const opened: Queue[] = [];
    const cleanups: Array<() => Promise<void>> = [];
    const fresh = async (): Promise<{ a: Queue; b: Queue }> => {
      const f = await factory();
      cleanups.push(f.cleanup);
      const a = await f.open();
      const b = await f.open();
      opened.push(a, b);
      return { a, b };
    };
    after(async () => {
      for (const q of opened) await q.close();
      for (const c of cleanups) await c();
    });
    const take = (q: Queue, max = 10, leaseMs = 5_000) => q.receive({ max, leaseMs, waitMs: 0 });

    test("higher priority first, then earlier time", async () => {
      const { a } = await fresh();
      const now = Date.now();
      await a.publish("low", "l", { priority: 0, notBefore: now - 50 });
      await a.publish("high-late", "hl", { priority: 5, notBefore: now - 10 });
      await a.publish("high-early", "he", { priority: 5, notBefore: now - 20 });
      await a.publish("future", "f", { priority: 9, notBefore: now + 60_000 });
      const got = await take(a);
      assert.deepEqual(
        got.map((d) => d.id),
        ["high-early", "high-late", "low"],
      );
      assert.equal(got[0]?.deliveries, 1);
    });

    test("publish is idempotent on id", async () => {
      const { a } = await fresh();
      await a.publish("x", "1");
      await a.publish("x", "2");
      const got = await take(a);
      assert.equal(got.length, 1);
      assert.equal(got[0]?.payload, "1");
    });

    if (capabilities.publishDedupe === "handle") {
      test("publish dedupe is per handle (documented): another handle's publish of the id is a second copy", async () => {
        const { a, b } = await fresh();
        await a.publish("x", "1");
        await b.publish("x", "2");
        const got = await a.receive({ max: 10, leaseMs: 5_000, waitMs: 2_000 });
        const more = got.length < 2 ? await a.receive({ max: 10, leaseMs: 5_000, waitMs: 2_000 }) : [];
        const all = [...got, ...more];
        assert.deepEqual(all.map((d) => d.id).sort(), ["x", "x"]);
        assert.deepEqual(all.map((d) => d.payload).sort(), ["1", "2"]);
      });
    }

    test("an expired lease is delivered again; the old lease can no longer ack", async () => {
      const { a, b } = await fresh();
      await a.publish("m", "p");
      const [first] = await take(a, 1, 100);
      assert.ok(first);
      assert.equal((await take(b)).length, 0);
      await sleep(150);
      let holder = b;
      let [again] = await take(b, 1, 5_000);
      if (!again && capabilities.redeliverTo === "owner") {
        holder = a;
        [again] = await take(a, 1, 5_000);
      }
      assert.equal(again?.id, "m");
      assert.equal(again?.deliveries, 2);
      assert.equal(await a.ack(first), false);
      assert.equal(await a.extend(first, 1_000), false);
      assert.equal(await holder.ack(again!), true);
      assert.equal((await take(a)).length, 0);
    });

    test("extend keeps the lease", async () => {
      const { a, b } = await fresh();
      await a.publish("m", "p");
      const [d] = await take(a, 1, 150);
      await sleep(80);
      assert.equal(await a.extend(d!, 300), true);
      await sleep(120);
      assert.equal((await take(b)).length, 0);
    });

    test("nack with delay hides the message until the delay passes", async () => {
      const { a } = await fresh();
      await a.publish("m", "p");
      const [d] = await take(a);
      assert.equal(await a.nack(d!, 150), true);
      assert.equal((await take(a)).length, 0);
      const started = Date.now();
      const got = await a.receive({ max: 1, leaseMs: 1_000, waitMs: 2_000 });
      assert.equal(got[0]?.id, "m");
      assert.ok(Date.now() - started >= 100, "delivered before its delay");
      assert.equal(got[0]?.deliveries, 2);
    });

    test("dead letter leaves the queue and is listed", async () => {
      const { a } = await fresh();
      await a.publish("m", "p");
      const [d] = await take(a);
      assert.equal(await a.deadLetter(d!, "too many attempts"), true);
      assert.equal((await take(a)).length, 0);
      const dead = await a.deadLetters(10);
      assert.deepEqual(
        dead.map((x) => [x.id, x.reason]),
        [["m", "too many attempts"]],
      );
      assert.equal((await a.stats()).dead, 1);
    });

    test("a waiting consumer wakes on publish", async () => {
      const { a, b } = await fresh();
      const started = Date.now();
      const waiting = b.receive({ max: 1, leaseMs: 1_000, waitMs: 5_000 });
      await sleep(20);
      await a.publish("m", "p");
      const got = await waiting;
      assert.equal(got[0]?.id, "m");
      assert.ok(Date.now() - started < 1_000);
    });

    test("concurrent consumers never get the same lease", async () => {
      const { a, b } = await fresh();
      const n = 300;
      for (let i = 0; i < n; i++) await a.publish(`m${i}`, String(i));
      const seen = new Map<string, number>();
      const consume = async (q: Queue) => {
        for (;;) {
          const got = await q.receive({ max: 7, leaseMs: 30_000, waitMs: 0 });
          if (got.length === 0) return;
          for (const d of got) {
            seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
            assert.equal(await q.ack(d), true);
          }
        }
      };
      await Promise.all([consume(a), consume(b), consume(a), consume(b)]);
      assert.equal(seen.size, n);
      assert.ok([...seen.values()].every((c) => c === 1));
    });
  });
}

/**
 * For adapters with a delivery limit (`maxDeliver`, NSQ's `maxAttempts`): a message delivered past it
 * is still handed out, flagged `exhausted` with the reason, again on each delivery while nobody
 * settles it, until the consumer dead-letters it. `open(limit, t)` opens a fresh queue with that limit
 * (or skips `t` and gives nothing).
 */
export function exhaustedConformance(
  kind: string,
  open: (limit: number, t: TestContext) => Promise<Queue | undefined>,
  reason: RegExp,
): void {
  test(`${kind}: past its delivery limit a message comes flagged exhausted until it is dead-lettered`, async (t) => {
    const q = await open(2, t);
    if (!q) return; // skipped by `open`
    const leaseMs = 60;
    const take = async () => {
      const got = await q.receive({ max: 10, leaseMs, waitMs: 3_000 });
      assert.equal(got.length, 1);
      return got[0] as Delivery;
    };
    try {
      await q.publish("poison", "p", { priority: 3 });
      for (let i = 1; i <= 2; i++) {
        const d = await take();
        assert.deepEqual([d.id, d.deliveries, d.exhausted], ["poison", i, undefined]);
        await sleep(leaseMs + 60); // the lease lapses unsettled
      }
      const third = await take();
      assert.equal(third.deliveries, 3);
      assert.match(third.exhausted ?? "", reason);
      assert.match(third.exhausted ?? "", /delivered 2 times/);
      await sleep(leaseMs + 60); // left unsettled, it must come again, still flagged
      const fourth = await take();
      assert.equal(fourth.deliveries, 4);
      assert.match(fourth.exhausted ?? "", reason);
      assert.match(fourth.exhausted ?? "", /delivered 3 times/);
      assert.equal(await q.deadLetter(fourth, fourth.exhausted ?? ""), true);
      assert.deepEqual(await q.receive({ max: 10, leaseMs, waitMs: 300 }), []);
      let dead = await q.deadLetters(10);
      for (let i = 0; i < 50 && dead.length === 0; i++) {
        await sleep(100);
        dead = await q.deadLetters(10);
      }
      assert.deepEqual(
        dead.map((x) => [x.id, x.payload, x.deliveries]),
        [["poison", "p", 4]],
      );
      assert.match(dead[0]?.reason ?? "", reason);
    } finally {
      await q.close();
    }
  });
}
