import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  chatRequestSchema,
  completionRequestSchema,
  embeddingRequestSchema,
  quickValid,
  validateBody,
} from "../../src/http/validation.js";

// The plain checks in front of the zod schemas must never let through what a schema refuses.

const SCHEMAS = {
  chat: chatRequestSchema,
  completion: completionRequestSchema,
  embedding: embeddingRequestSchema,
} as const;

/** Values near every boundary the schemas draw, plus the wrong types. */
const anyValue = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    1,
    -1,
    0.5,
    1.5,
    2,
    2.5,
    -2,
    -2.5,
    16,
    17,
    20,
    21,
    128,
    129,
    4096,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    Number.POSITIVE_INFINITY,
    "",
    "x",
    "float",
    "base64",
    "user",
    "bogus",
    "x".repeat(256),
    "x".repeat(257),
  ),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -3, max: 300 }),
  fc.double({ noNaN: false }),
);
/** Mostly a valid value, sometimes anything. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: anyValue });
const tokenIds = fc.array(mostly(fc.nat(50_000)), { maxLength: 4 });
const texts = mostly(
  fc.oneof(
    fc.string({ maxLength: 3 }),
    fc.array(mostly(fc.string({ maxLength: 3 })), { maxLength: 5 }),
    tokenIds,
    fc.array(tokenIds, { maxLength: 3 }),
    fc.array(fc.constant("a"), { minLength: 4095, maxLength: 4097 }),
  ),
);
const part = mostly(
  fc.record({ type: mostly(fc.string({ maxLength: 2 })), text: anyValue }, { requiredKeys: [] }),
);
const message = mostly(
  fc.record(
    {
      role: mostly(fc.constantFrom("system", "developer", "user", "assistant", "tool", "function")),
      content: mostly(
        fc.oneof(fc.string({ maxLength: 3 }), fc.constant(null), fc.array(part, { maxLength: 3 })),
      ),
      name: mostly(fc.string({ maxLength: 3 })),
    },
    { requiredKeys: [] },
  ),
);
const num = (min: number, max: number) =>
  mostly(fc.oneof(fc.double({ min, max, noNaN: true }), fc.constant(null)));
const int = (min: number, max: number) => mostly(fc.oneof(fc.integer({ min, max }), fc.constant(null)));
const body = fc.record(
  {
    model: mostly(fc.constantFrom("m", "x".repeat(256))),
    stream: mostly(fc.constantFrom(true, false, null)),
    stream_options: mostly(
      fc.oneof(fc.constant(null), fc.record({ include_usage: mostly(fc.boolean()) }, { requiredKeys: [] })),
    ),
    max_tokens: int(1, 100_000),
    max_completion_tokens: int(1, 100_000),
    temperature: num(0, 2),
    top_p: num(0, 1),
    n: int(1, 128),
    presence_penalty: num(-2, 2),
    frequency_penalty: num(-2, 2),
    seed: int(-1_000_000, 1_000_000),
    stop: mostly(
      fc.oneof(
        fc.string({ maxLength: 2 }),
        fc.constant(null),
        fc.array(mostly(fc.string({ maxLength: 2 })), { maxLength: 17 }),
      ),
    ),
    user: mostly(fc.string({ maxLength: 3 })),
    messages: mostly(fc.array(message, { maxLength: 3 })),
    prompt: texts,
    input: texts,
    echo: mostly(fc.constantFrom(true, false, null)),
    best_of: int(1, 20),
    encoding_format: mostly(fc.constantFrom("float", "base64")),
    dimensions: mostly(fc.integer({ min: 1, max: 4096 })),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

for (const op of ["chat", "completion", "embedding"] as const) {
  test(`${op}: a body the plain checks accept is one the schema accepts`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (b) => {
        if (!quickValid(op, b)) return;
        accepted++;
        const r = SCHEMAS[op].safeParse(b);
        assert.ok(r.success, `accepted by the plain checks, refused by zod: ${JSON.stringify(b)}`);
      }),
      { numRuns: 20_000 },
    );
    assert.ok(accepted > 0, "the generator never produced a body the plain checks accept");
  });
}

test("the common bodies take the plain checks, and validateBody returns the body itself", () => {
  const chat = {
    model: "m",
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: [{ type: "text", text: "hi" }] },
    ],
    max_tokens: 16,
    temperature: 0.7,
    stream: true,
    stream_options: { include_usage: true },
    tools: [{ type: "function" }],
  };
  assert.equal(quickValid("chat", chat), true);
  assert.equal(validateBody("chat", chat), chat);
  const completion = { model: "m", prompt: ["a", "b"], max_tokens: 5, stop: ["\n"], echo: false };
  assert.equal(quickValid("completion", completion), true);
  assert.equal(quickValid("completion", { model: "m", prompt: [[1, 2], [3]] }), true);
  const embedding = { model: "e", input: [1, 2, 3], encoding_format: "float", dimensions: 8 };
  assert.equal(quickValid("embedding", embedding), true);
  assert.equal(validateBody("embedding", embedding), embedding);
});

test("bodies the plain checks do not recognise still get zod's verdict and message", () => {
  assert.throws(
    () => validateBody("chat", { model: "m", messages: [] }),
    (err: Error & { param?: string }) =>
      err.message === "Invalid value for 'messages': messages must contain at least one message." &&
      err.param === "messages",
  );
  assert.throws(
    () => validateBody("chat", { model: "m", messages: [{ role: "user" }], temperature: 3 }),
    (err: Error & { param?: string }) => err.param === "temperature",
  );
  // Extra shapes zod accepts that the plain checks leave to it: still accepted.
  const big = { model: "e", input: Array.from({ length: 5000 }, (_, i) => i) };
  assert.equal(quickValid("embedding", big), false);
  assert.equal(validateBody("embedding", big), big);
});
