import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayError, toGatewayError } from "../../src/core/errors.js";

const frames = (e: Error) =>
  (e.stack ?? "").split("\n").filter((l) => l.trimStart().startsWith("at ")).length;

test("an expected GatewayError records no stack frames; internal_error and a wrapped cause keep theirs", () => {
  const limit = Error.stackTraceLimit;
  const refused = new GatewayError("rate_limited", "Slow down.", { retryAfterSeconds: 2 });
  assert.equal(Error.stackTraceLimit, limit, "the global stack trace limit is restored");
  assert.equal(refused.stack, "GatewayError: Slow down.");
  assert.equal(frames(refused), 0);
  assert.equal(refused.code, "rate_limited");
  assert.equal(refused.status, 429);
  assert.equal(refused.retryAfterSeconds, 2);
  assert.ok(refused instanceof Error);

  const internal = new GatewayError("internal_error", "broken invariant");
  assert.ok(frames(internal) > 0, "internal_error says where it was made");

  const cause = new TypeError("cannot read x");
  const wrapped = toGatewayError(cause);
  assert.equal(wrapped.code, "internal_error");
  assert.equal(wrapped.cause, cause);
  assert.ok(frames(cause) > 0);

  const upstream = new GatewayError("upstream_unavailable", "connection refused", { cause });
  assert.equal(frames(upstream), 0);
  assert.equal(upstream.cause, cause, "the exception that led to it keeps its own stack");
  assert.equal(new Error("after").stack?.includes("at "), true, "errors made afterwards still have stacks");
});
