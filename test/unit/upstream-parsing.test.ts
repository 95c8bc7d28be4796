import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { usageOfJson } from "../../src/backends/openai.js";
import { SseParser } from "../../src/backends/sse.js";

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
