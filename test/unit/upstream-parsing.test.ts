import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Dispatcher } from "undici";
import { exchangeBody, exchangeEvents } from "../../src/backends/exchange.js";
import { usageOfJson } from "../../src/backends/openai.js";
import { SseParser } from "../../src/backends/sse.js";
import { RequestContext } from "../../src/core/context.js";
import { GatewayError } from "../../src/core/errors.js";

test("usage is read from small and large answers alike; garbage is refused", () => {
  const usage = {
    prompt_tokens: 7,
    completion_tokens: 3,
    total_tokens: 10,
    prompt_tokens_details: { cached_tokens: 2 },
  };
  const small = JSON.stringify({ id: "x", choices: [], usage });
  const big = JSON.stringify({
    object: "list",
    data: [{ embedding: Array.from({ length: 5000 }, (_, i) => i / 7) }],
    usage,
  });
  assert.ok(big.length > 16 * 1024);
  const want = { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 };
  assert.deepEqual(usageOfJson(small), want);
  assert.deepEqual(usageOfJson(big), want);
  assert.equal(usageOfJson(JSON.stringify({ data: [] })), undefined);
  assert.equal(usageOfJson("not json"), false);
  assert.equal(usageOfJson(`<html>${"x".repeat(20_000)}</html>`), false);
  assert.equal(usageOfJson(big.replace('"usage"', '"nothing"')), undefined);
});

test("the SSE parser yields the same events however the bytes are split", () => {
  const events = ['{"a":1}', '{"b":"two\\nlines"}', "[DONE]"];
  const wire = `: comment\n\ndata: ${events[0]}\r\n\r\nevent: x\ndata: ${events[1]}\n\ndata:${events[2]}\n\n`;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 8 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const parser = new SseParser();
      const out: string[] = [];
      let last = 0;
      for (const p of [...points, wire.length]) {
        out.push(...parser.push(Buffer.from(wire.slice(last, p))));
        last = p;
      }
      assert.deepEqual(out, events);
      assert.equal(parser.pending, false);
    }),
  );
});

test("a multi-byte character split across chunks survives", () => {
  const parser = new SseParser();
  const bytes = Buffer.from('data: {"t":"héllo ✓"}\n\n');
  const out = [...parser.push(bytes.subarray(0, 15)), ...parser.push(bytes.subarray(15))];
  assert.deepEqual(out, ['{"t":"héllo ✓"}']);
});

/**
 * A dispatcher that plays one answer through the handler it is given and keeps the handler, so the
 * test can look at what the handler still points to once the exchange is over.
 */
function scriptedDispatcher(status: number, contentType: string, chunks: Buffer[]) {
  const seen: { handler?: Record<string, unknown> } = {};
  const controller = { abort() {}, pause() {}, resume() {}, paused: false, aborted: false, reason: null };
  const dispatcher = {
    dispatch(_opts: unknown, handler: Dispatcher.DispatchHandler) {
      seen.handler = handler as unknown as Record<string, unknown>;
      queueMicrotask(() => {
        const c = controller as unknown as Dispatcher.DispatchController;
        handler.onRequestStart?.(c, {});
        handler.onResponseStart?.(c, status, { "content-type": contentType }, "OK");
        for (const chunk of chunks) handler.onResponseData?.(c, chunk);
        handler.onResponseEnd?.(c, {});
      });
      return true;
    },
  } as unknown as Dispatcher;
  return { dispatcher, seen };
}

/** What a finished exchange may still hold: no request context, body, headers or promise callbacks. */
function assertLetGo(
  handler: Record<string, unknown> | undefined,
  ctx: RequestContext,
  held: object[],
): void {
  assert.ok(handler, "the dispatcher saw a handler");
  for (const [field, value] of Object.entries(handler)) {
    assert.notEqual(value, ctx, `${field} still points to the request context`);
    for (const h of held) assert.notEqual(value, h, `${field} still points to request data`);
    if (Array.isArray(value)) assert.equal(value.length, 0, `${field} still holds ${value.length} items`);
  }
}

test("a finished upstream exchange lets go of the request's objects (so minor GCs do not promote them)", async () => {
  const ctx = new RequestContext({});
  const body = Buffer.from('{"ok":true}');
  const json = scriptedDispatcher(200, "application/json", [body]);
  const answer = await exchangeBody(json.dispatcher, { path: "/", method: "POST" }, "test", ctx);
  assert.equal(answer.body.toString(), '{"ok":true}');
  assertLetGo(json.seen.handler, ctx, [answer.headers, body]);
  assert.equal(typeof json.seen.handler?.resolve, "function");
  assert.equal((json.seen.handler?.resolve as (() => void) | undefined)?.name, "noop");

  const sse = scriptedDispatcher(200, "text/event-stream", [
    Buffer.from('data: {"a":1}\n\ndata: [DONE]\n\n'),
  ]);
  const events = await exchangeEvents(sse.dispatcher, { path: "/", method: "POST" }, "test", ctx);
  const got: string[] = [];
  for await (const e of events) got.push(e);
  assert.deepEqual(got, ['{"a":1}']);
  assertLetGo(sse.seen.handler, ctx, []);
});

test("a call cancelled before it is sent is refused with the cancellation's reason, and nothing is dispatched", async () => {
  for (const send of [exchangeBody, exchangeEvents] as const) {
    const ctx = new RequestContext({});
    ctx.abort(new GatewayError("client_closed_request", "the client closed the connection"));
    const d = scriptedDispatcher(200, "application/json", [Buffer.from("{}")]);
    await assert.rejects(
      send(d.dispatcher, { path: "/", method: "POST" }, "test", ctx) as Promise<unknown>,
      (e: GatewayError) => e.code === "client_closed_request",
    );
    assert.equal(d.seen.handler, undefined, "the request never reached the dispatcher");
  }
});
