import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { RequestContext, signalCancellation } from "../../src/core/context.js";
import { GatewayError } from "../../src/core/errors.js";
import { Admission } from "../../src/routing/admission.js";
import { CircuitBreaker } from "../../src/routing/breaker.js";
import { backoffMs } from "../../src/routing/router.js";
import { ExtraBudget } from "../../src/routing/window.js";

test("breaker: closed → open after N failures → half-open after openMs → closed after probes succeed", () => {
  const moves: string[] = [];
  const b = new CircuitBreaker(
    { enabled: true, failureThreshold: 3, openMs: 1000, halfOpenProbes: 2 },
    (f, t) => moves.push(`${f}>${t}`),
  );
  b.onFailure(0);
  b.onFailure(0);
  assert.equal(b.state(0), "closed");
  b.onSuccess(); // a success resets the count
  b.onFailure(0);
  b.onFailure(0);
  b.onFailure(0);
  assert.equal(b.state(10), "open");
  assert.equal(b.canPass(999), false);
  assert.equal(b.canPass(1000), true);
  assert.equal(b.state(1000), "half_open");
  b.onSend();
  b.onSend();
  assert.equal(b.canPass(1000), false, "no more than halfOpenProbes at once");
  b.onSuccess();
  assert.equal(b.state(1000), "half_open");
  b.onSuccess();
  assert.equal(b.state(1000), "closed");
  assert.deepEqual(moves, ["closed>open", "open>half_open", "half_open>closed"]);
});

test("breaker: a failed half-open probe opens the circuit again", () => {
  const b = new CircuitBreaker({ enabled: true, failureThreshold: 1, openMs: 100, halfOpenProbes: 1 });
  b.onFailure(0);
  assert.equal(b.state(100), "half_open");
  b.onSend();
  b.onFailure(100);
  assert.equal(b.state(150), "open");
  assert.equal(b.state(200), "half_open");
});

test("backoff is full jitter within [0, min(max, base·2^(n-1))]", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
      (n, r) => {
        const wait = backoffMs(n, 25, 1000, () => r);
        return wait >= 0 && wait <= Math.min(1000, 25 * 2 ** (n - 1));
      },
    ),
  );
});

test("the extra-request budget never allows more than ratio × requests + floor", () => {
  fc.assert(
    fc.property(
      fc.array(fc.boolean(), { maxLength: 500 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (ops, ratio) => {
        const budget = new ExtraBudget(ratio, 0, 10_000);
        let requests = 0;
        let extras = 0;
        for (const isRequest of ops) {
          if (isRequest) {
            budget.recordRequest(5000);
            requests++;
          } else if (budget.tryWithdraw(5000)) extras++;
        }
        return extras <= ratio * requests + 1e-9;
      },
    ),
  );
});

test("admission: caps in-flight, queues by priority, sheds the lowest when full, times out waiters", async () => {
  const a = new Admission({ maxInFlight: 1, maxQueue: 2, queueTimeoutMs: 200 });
  const never = signalCancellation(new AbortController().signal);
  assert.equal(a.acquire("default", never), undefined, "first takes the slot at once");
  const order: string[] = [];
  const low = a.acquire("low", never)?.then(
    () => order.push("low"),
    (e: GatewayError) => order.push(`low:${e.code}`),
  );
  const def = a.acquire("default", never)?.then(() => order.push("default"));
  // The queue is full (2): a high-priority newcomer sheds the low one.
  const high = a.acquire("high", never)?.then(() => order.push("high"));
  await low;
  assert.deepEqual(order, ["low:overloaded"]);
  // Another low one is refused outright: nothing below it to shed.
  await assert.rejects(
    a.acquire("low", never) as Promise<void>,
    (e: GatewayError) => e.code === "overloaded",
  );
  a.release();
  await high;
  a.release();
  await def;
  assert.deepEqual(order, ["low:overloaded", "high", "default"]);
  a.release();
  assert.equal(a.running, 0);
  // A waiter that gets no slot in time is shed with retry-after.
  a.acquire("default", never);
  await assert.rejects(a.acquire("default", never) as Promise<void>, (e: GatewayError) => {
    assert.equal(e.code, "overloaded");
    assert.equal(e.retryAfterSeconds, 1);
    return true;
  });
  // A request cancelled while it waits leaves the queue with its reason; the slot goes to the next.
  const ctx = new RequestContext({});
  const cancelled = a.acquire("high", ctx) as Promise<void>;
  const next = a.acquire("default", never) as Promise<void>;
  assert.equal(a.waiting, 2);
  ctx.abort(new GatewayError("client_closed_request", "gone"));
  await assert.rejects(cancelled, (e: GatewayError) => e.code === "client_closed_request");
  assert.equal(a.waiting, 1);
  a.release();
  await next;
  assert.equal(a.waiting, 0);
  // Already cancelled: refused at once, never queued.
  await assert.rejects(
    a.acquire("default", ctx) as Promise<void>,
    (e: GatewayError) => e.code === "client_closed_request",
  );
  assert.equal(a.waiting, 0);
});
