import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RequestContext } from "../../src/core/context.js";
import { GatewayError } from "../../src/core/errors.js";

// Deadlines share one timer per length: each still fires on time, and a finished request never fires.

function codeOf(ctx: RequestContext): string | undefined {
  return ctx.aborted ? (ctx.reason as GatewayError).code : undefined;
}

test("deadlines of one length fire in order; finished ones never fire", async () => {
  const a = new RequestContext({});
  const b = new RequestContext({});
  const c = new RequestContext({});
  a.setDeadline(400);
  await sleep(20);
  b.setDeadline(400);
  c.setDeadline(400);
  a.finish(); // the head leaves: the shared timer must still serve b and c
  await sleep(150);
  assert.equal(codeOf(b), undefined, "b fired long before its own 400 ms");
  await sleep(500);
  assert.equal(codeOf(a), undefined);
  assert.equal(codeOf(b), "deadline_exceeded");
  assert.equal(codeOf(c), "deadline_exceeded");
  assert.match((b.reason as GatewayError).message, /request deadline of 400 ms exceeded/);
  assert.equal(b.signal.aborted, true, "a signal made after the abort is already aborted");
  assert.equal(b.signal.reason, b.reason);
});

test("different lengths keep their own order, and a re-armed deadline replaces the old one", async () => {
  const long = new RequestContext({});
  const short = new RequestContext({});
  const rearmed = new RequestContext({});
  long.setDeadline(600);
  short.setDeadline(30);
  rearmed.setDeadline(30);
  rearmed.setDeadline(2000);
  await sleep(200);
  assert.equal(codeOf(short), "deadline_exceeded");
  assert.equal(codeOf(long), undefined);
  assert.equal(codeOf(rearmed), undefined);
  await sleep(600);
  assert.equal(codeOf(long), "deadline_exceeded");
  assert.equal(codeOf(rearmed), undefined);
  rearmed.finish();
});

test("an abort reaches hooks and the signal, however it is made", () => {
  const ctx = new RequestContext({});
  const seen: string[] = [];
  ctx.onAbort({ handleEvent: () => seen.push("hook") });
  const gone = { handleEvent: () => seen.push("removed") };
  ctx.onAbort(gone);
  ctx.offAbort(gone);
  const signal = ctx.signal;
  signal.addEventListener("abort", () => seen.push("signal"));
  const reason = new GatewayError("client_closed_request", "gone");
  ctx.abort(reason);
  ctx.abort(new GatewayError("deadline_exceeded", "late"));
  assert.deepEqual(seen.sort(), ["hook", "signal"]);
  assert.equal(ctx.reason, reason);
  assert.equal(signal.reason, reason);

  const direct = new RequestContext({});
  let heard = 0;
  direct.onAbort({ handleEvent: () => heard++ });
  direct.controller.abort(reason);
  assert.equal(heard, 1, "aborting the controller itself reaches the hooks");
  assert.equal(direct.aborted, true);
  assert.equal(direct.reason, reason);
});
