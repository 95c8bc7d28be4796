import assert from "node:assert/strict";
import { test } from "node:test";
import {
  estimatePromptTokens,
  estimateRequest,
  isTokenizerLoaded,
  maxOutputTokens,
  TOKENIZE_MAX_CHARS,
} from "../../src/tokenize/estimate.js";

test("the tokenizer is not loaded until a count needs it", () => {
  assert.equal(isTokenizerLoaded(), false);
  assert.equal(maxOutputTokens({ max_tokens: 5 }, 100), 5);
  assert.equal(estimatePromptTokens("embedding", { input: [1, 2, 3] }), 3, "token ids need no tokenizer");
  assert.equal(isTokenizerLoaded(), false);
});

test("known cl100k counts for fixed strings", () => {
  assert.equal(estimatePromptTokens("completion", { prompt: "Hello, world!" }), 4);
  assert.equal(
    estimatePromptTokens("completion", { prompt: "The quick brown fox jumps over the lazy dog." }),
    10,
  );
  assert.equal(estimatePromptTokens("completion", { prompt: ["Hello, world!", "Hello, world!"] }), 8);
  assert.equal(estimatePromptTokens("embedding", { input: "Hello, world!" }), 4);
  assert.equal(
    estimatePromptTokens("embedding", {
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    }),
    5,
  );
  assert.equal(isTokenizerLoaded(), true);
  // Special-token text is counted as text, never rejected.
  assert.ok(estimatePromptTokens("completion", { prompt: "a <|endoftext|> b" }) > 3);
});

test("repeated texts are counted the same as the first time, also after the memo of counts fills", () => {
  const texts = Array.from({ length: 5_000 }, (_, i) => `message number ${i}: ${"word ".repeat(i % 40)}`);
  const first = texts.map((t) => estimatePromptTokens("completion", { prompt: t }));
  // More distinct texts than the memo holds: it is emptied and refilled, never wrong.
  const again = texts.map((t) => estimatePromptTokens("completion", { prompt: t }));
  assert.deepEqual(again, first);
  assert.equal(first[0], estimatePromptTokens("completion", { prompt: "message number 0: " }));
  // Longer than a memo entry may be: still counted exactly.
  const long = "The quick brown fox jumps over the lazy dog. ".repeat(100);
  const n = estimatePromptTokens("completion", { prompt: long });
  assert.ok(n >= 1_000 && n <= 1_010, `${n} tokens for 100 sentences of 10`);
  assert.equal(estimatePromptTokens("completion", { prompt: long }), n);
});

test("chat: 3 per message + role + content, 3 to prime the reply (OpenAI's count)", () => {
  const body = {
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: [{ type: "text", text: "Hello, world!" }] },
    ],
  };
  // (3 + 1 + 6) + (3 + 1 + 4) + 3
  assert.equal(estimatePromptTokens("chat", body), 21);
  const withImage = {
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:..." } }] }],
  };
  assert.equal(estimatePromptTokens("chat", withImage), 3 + 1 + 765 + 3);
  const withTools = { ...body, tools: [{ type: "function", function: { name: "f", parameters: {} } }] };
  assert.ok(estimatePromptTokens("chat", withTools) > 21);
});

test("huge inputs are estimated by characters, and long runs never burn the CPU", () => {
  const big = "x".repeat(TOKENIZE_MAX_CHARS + 4);
  const started = performance.now();
  assert.equal(estimatePromptTokens("completion", { prompt: big }), Math.ceil(big.length / 4));
  const run = "a".repeat(TOKENIZE_MAX_CHARS - 1_000); // one 199 000-letter word: quadratic BPE if not cut
  const n = estimatePromptTokens("completion", { prompt: run });
  assert.ok(n > 20_000 && n < 30_000, String(n));
  assert.ok(performance.now() - started < 3_000, "took too long");
});

test("maxOutputTokens: max_completion_tokens, max_tokens, the fallback, times n", () => {
  assert.equal(maxOutputTokens({}, 1024), 1024);
  assert.equal(maxOutputTokens({ max_tokens: 10 }, 1024), 10);
  assert.equal(maxOutputTokens({ max_tokens: 10, max_completion_tokens: 20 }, 1024), 20);
  assert.equal(maxOutputTokens({ max_tokens: 10, n: 3 }, 1024), 30);
  assert.equal(maxOutputTokens({ max_tokens: 10, n: 2, best_of: 5 }, 1024), 50);
  assert.equal(maxOutputTokens({ max_tokens: -1 }, 7), 7);
  assert.deepEqual(estimateRequest("embedding", { input: "Hello, world!", max_tokens: 9 }, 1024), {
    promptTokens: 4,
    maxOutputTokens: 0,
  });
});
