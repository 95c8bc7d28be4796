import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Batch, type BatchSettings, MicroBatcher } from "../../src/batching/batcher.js";
import { GatewayError } from "../../src/core/errors.js";

const NO_DEADLINE = Number.POSITIVE_INFINITY;

function settings(over: Partial<BatchSettings> = {}): BatchSettings {
  return {
    maxBatchSize: 8,
    maxQueueDelayUs: 10_000_000,
    preferredBatchSizes: [],
    deadlineSlackMs: 0,
    ...over,
  };
}

interface Seen {
  key: string;
  inputs: string[];
  sizes: number[];
  at: number;
}

/** A batcher whose runner answers each input upper-cased, after `delayMs` (or when `gate` resolves). */
function harness(opts: { delayMs?: number; gate?: Promise<void>; fail?: GatewayError } = {}) {
  const batches: Seen[] = [];
  const flights: Array<Batch<string>> = [];
  const flushes: Array<{ items: number; delays: readonly number[] }> = [];
  const t0 = performance.now();
  const b = new MicroBatcher<string, string>(
    async (batch) => {
      batches.push({
        key: batch.key,
        inputs: [...batch.inputs],
        sizes: [...batch.sizes],
        at: performance.now() - t0,
      });
      flights.push(batch);
      if (opts.gate) await opts.gate;
      if (opts.delayMs) await sleep(opts.delayMs);
      if (opts.fail) throw opts.fail;
      return batch.inputs.map((s) => ({ status: "fulfilled" as const, value: s.toUpperCase() }));
    },
    (_key, items, delays) => flushes.push({ items, delays }),
  );
  const submit = (
    input: string,
    s: BatchSettings,
    o: { size?: number; key?: string; signal?: AbortSignal; deadlineAt?: number } = {},
  ) =>
    b.submit(
      o.key ?? "k",
      input,
      o.size ?? 1,
      o.signal ?? new AbortController().signal,
      o.deadlineAt ?? NO_DEADLINE,
      s,
    );
  return { b, batches, flights, flushes, submit, elapsed: () => performance.now() - t0 };
}

describe("MicroBatcher flush rules", () => {
  test("a queue that reaches maxBatchSize leaves at once, without waiting for the delay", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 4 });
    const out = await Promise.all(["a", "b", "c", "d"].map((x) => h.submit(x, s)));
    assert.deepEqual(out, ["A", "B", "C", "D"]);
    assert.equal(h.batches.length, 1);
    assert.deepEqual(h.batches[0]?.inputs, ["a", "b", "c", "d"]);
    assert.ok(h.elapsed() < 1000, `took ${h.elapsed()} ms with a 10 s delay`);
    assert.equal(h.b.queued, 0);
  });

  test("a partial batch leaves after maxQueueDelayUs, with every member that arrived meanwhile", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 100, maxQueueDelayUs: 60_000 });
    const first = h.submit("a", s);
    await sleep(10);
    const second = h.submit("b", s);
    assert.deepEqual(await Promise.all([first, second]), ["A", "B"]);
    assert.equal(h.batches.length, 1);
    assert.deepEqual(h.batches[0]?.inputs, ["a", "b"]);
    const at = h.batches[0]?.at ?? 0;
    assert.ok(at >= 55, `left after ${at} ms, before the 60 ms delay`);
    assert.ok(at < 1000, `left after ${at} ms`);
    // Each member's wait is reported: the first waited the whole delay, the second less.
    const delays = h.flushes[0]?.delays ?? [];
    assert.equal(delays.length, 2);
    assert.ok((delays[0] ?? 0) > (delays[1] ?? 0));
  });

  test("maxQueueDelayUs 0 batches only what arrived in the same event-loop turn", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 100, maxQueueDelayUs: 0 });
    const together = ["a", "b", "c"].map((x) => h.submit(x, s));
    await Promise.all(together);
    await h.submit("d", s);
    assert.deepEqual(
      h.batches.map((x) => x.inputs),
      [["a", "b", "c"], ["d"]],
    );
  });

  test("a prefix that forms a preferred size leaves at once; the rest waits for the delay", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 16, maxQueueDelayUs: 300_000, preferredBatchSizes: [2, 4] });
    const p = ["a", "b", "c"].map((x) => h.submit(x, s));
    await Promise.all(p.slice(0, 2));
    assert.ok(h.elapsed() < 150, `preferred batch took ${h.elapsed()} ms`);
    assert.deepEqual(h.batches[0]?.inputs, ["a", "b"]);
    await p[2];
    assert.deepEqual(h.batches[1]?.inputs, ["c"]);
    assert.ok((h.batches[1]?.at ?? 0) >= 250, `rest left after ${h.batches[1]?.at} ms`);
  });

  test("the largest preferred size reachable wins", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 16, preferredBatchSizes: [2, 4] });
    await Promise.all(["a", "b", "c", "d"].map((x) => h.submit(x, s)));
    assert.deepEqual(h.batches[0]?.inputs, ["a", "b", "c", "d"]);
  });

  test("different keys never share a batch", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 2 });
    await Promise.all([
      h.submit("a", s, { key: "x" }),
      h.submit("b", s, { key: "y" }),
      h.submit("c", s, { key: "x" }),
      h.submit("d", s, { key: "y" }),
    ]);
    const byKey = Object.fromEntries(h.batches.map((x) => [x.key, x.inputs]));
    assert.deepEqual(byKey, { x: ["a", "c"], y: ["b", "d"] });
  });
});

describe("MicroBatcher sizes", () => {
  test("a request of maxBatchSize items or more runs alone at once", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 4, maxQueueDelayUs: 200_000 });
    const small = h.submit("small", s, { size: 1 });
    const big = await h.submit("big", s, { size: 6 });
    assert.equal(big, "BIG");
    assert.deepEqual(h.batches[0]?.inputs, ["big"]);
    assert.ok(h.elapsed() < 150, "the big request did not wait for the delay");
    await small;
    assert.deepEqual(h.batches[1]?.inputs, ["small"]);
  });

  test("members are never merged beyond maxBatchSize; a batch takes the members that fit", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 5 });
    await Promise.all([
      h.submit("a", s, { size: 3 }),
      h.submit("b", s, { size: 3 }),
      h.submit("c", s, { size: 2 }),
    ]);
    for (const x of h.batches) assert.ok(x.sizes.reduce((a, c) => a + c, 0) <= 5, `batch ${x.sizes}`);
    assert.deepEqual(
      h.batches.map((x) => x.inputs),
      [["a"], ["b", "c"]],
    );
  });
});

describe("MicroBatcher deadlines and cancellation", () => {
  test("a member near its deadline is not held back for the delay, and takes the queue with it", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 100, maxQueueDelayUs: 5_000_000, deadlineSlackMs: 100 });
    const patient = h.submit("patient", s);
    const urgent = h.submit("urgent", s, { deadlineAt: Date.now() + 150 });
    assert.deepEqual(await Promise.all([patient, urgent]), ["PATIENT", "URGENT"]);
    assert.ok((h.batches[0]?.at ?? 0) < 120, `left after ${h.batches[0]?.at} ms, deadline in 150 ms`);
    assert.deepEqual(h.batches[0]?.inputs, ["patient", "urgent"]);
  });

  test("a member whose deadline is already within the slack goes at once", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 100, maxQueueDelayUs: 5_000_000, deadlineSlackMs: 500 });
    assert.equal(await h.submit("late", s, { deadlineAt: Date.now() + 100 }), "LATE");
    assert.ok(h.elapsed() < 80, `took ${h.elapsed()} ms`);
  });

  test("a member that aborts while queued leaves the queue; the others still run", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 100, maxQueueDelayUs: 40_000 });
    const ac = new AbortController();
    const gone = h.submit("gone", s, { signal: ac.signal });
    const stays = h.submit("stays", s);
    ac.abort(new GatewayError("client_closed_request", "the client closed the connection"));
    await assert.rejects(
      gone,
      (e: unknown) => e instanceof GatewayError && e.code === "client_closed_request",
    );
    assert.equal(await stays, "STAYS");
    assert.deepEqual(h.batches[0]?.inputs, ["stays"]);
  });

  test("a queue whose only member aborts never runs", async () => {
    const h = harness();
    const s = settings({ maxBatchSize: 100, maxQueueDelayUs: 30_000 });
    const ac = new AbortController();
    const gone = h.submit("gone", s, { signal: ac.signal });
    ac.abort(new GatewayError("deadline_exceeded", "request deadline of 1 ms exceeded"));
    await assert.rejects(gone, (e: unknown) => e instanceof GatewayError && e.code === "deadline_exceeded");
    await sleep(60);
    assert.equal(h.batches.length, 0);
    assert.equal(h.b.queued, 0);
  });

  test("a member that aborts after the flush gets its abort at once; its share is dropped, the others get theirs", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const h = harness({ gate });
    const s = settings({ maxBatchSize: 2 });
    const ac = new AbortController();
    const gone = h.submit("gone", s, { signal: ac.signal });
    const stays = h.submit("stays", s);
    while (h.flights.length === 0) await sleep(1);
    ac.abort(new GatewayError("deadline_exceeded", "request deadline exceeded"));
    await assert.rejects(gone, (e: unknown) => e instanceof GatewayError && e.code === "deadline_exceeded");
    const flight = h.flights[0] as Batch<string>;
    assert.equal(flight.live(0), false);
    assert.equal(flight.live(1), true);
    assert.equal(flight.signal.aborted, false, "the batch still runs for the member left");
    open();
    assert.equal(await stays, "STAYS");
  });

  test("when every member of a flushed batch has left, the batch's signal aborts", async () => {
    const h = harness({ gate: new Promise<void>(() => {}) });
    const s = settings({ maxBatchSize: 2 });
    const a = new AbortController();
    const b = new AbortController();
    const pa = h.submit("a", s, { signal: a.signal });
    const pb = h.submit("b", s, { signal: b.signal });
    while (h.flights.length === 0) await sleep(1);
    a.abort(new GatewayError("client_closed_request", "gone"));
    b.abort(new GatewayError("client_closed_request", "gone"));
    await Promise.allSettled([pa, pb]);
    assert.equal(h.flights[0]?.signal.aborted, true);
  });

  test("an already aborted signal is refused without queueing", async () => {
    const h = harness();
    const ac = new AbortController();
    ac.abort(new GatewayError("client_closed_request", "gone"));
    await assert.rejects(h.submit("x", settings(), { signal: ac.signal }), /gone/);
    assert.equal(h.b.queued, 0);
  });
});

describe("MicroBatcher errors", () => {
  test("a failed batch fails every member with the same code", async () => {
    const h = harness({ fail: new GatewayError("upstream_error", "upstream answered 500") });
    const s = settings({ maxBatchSize: 3 });
    const results = await Promise.allSettled(["a", "b", "c"].map((x) => h.submit(x, s)));
    assert.equal(h.batches.length, 1);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.equal((r as PromiseRejectedResult).reason.code, "upstream_error");
    }
  });

  test("per-member results: one member's error does not touch the others", async () => {
    const b = new MicroBatcher<string, string>(async (batch) =>
      batch.inputs.map((x) =>
        x === "bad"
          ? { status: "rejected" as const, reason: new GatewayError("upstream_rejected", "bad input") }
          : { status: "fulfilled" as const, value: x },
      ),
    );
    const s = settings({ maxBatchSize: 3 });
    const sig = new AbortController().signal;
    const r = await Promise.allSettled(
      ["ok1", "bad", "ok2"].map((x) => b.submit("k", x, 1, sig, NO_DEADLINE, s)),
    );
    assert.deepEqual(
      r.map((x) => x.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
  });

  test("a runner that throws synchronously fails the members instead of the caller", async () => {
    const b = new MicroBatcher<string, string>(() => {
      throw new GatewayError("internal_error", "boom");
    });
    const s = settings({ maxBatchSize: 1 });
    await assert.rejects(b.submit("k", "x", 1, new AbortController().signal, NO_DEADLINE, s), /boom/);
  });
});
