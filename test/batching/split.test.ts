import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { renderMember, scanEmbeddingList } from "../../src/batching/embedding-list.js";
import { embeddingItems, splitEmbeddings } from "../../src/batching/embeddings.js";
import { simItemTokens, splitProportional } from "../../src/batching/usage.js";
import type { RequestContext } from "../../src/core/context.js";
import { GatewayError } from "../../src/core/errors.js";
import type { RouteRequest } from "../../src/core/types.js";
import { embeddingList } from "../../src/sim/format.js";
import { countTokens } from "../../src/sim/tokenizer.js";

type Json = Record<string, unknown>;

function simAnswer(inputs: string[], encoding: "float" | "base64" = "float", dims = 8): string {
  const tokens = inputs.reduce((n, s) => n + countTokens(s), 0);
  return embeddingList("m", inputs, dims, encoding, tokens);
}

function member(inputs: string[]) {
  const req: RouteRequest = {
    op: "embedding",
    model: "m",
    body: { model: "m", input: inputs },
    stream: false,
    clientWantsStreamUsage: false,
  };
  return { req, ctx: {} as RequestContext, items: inputs };
}

describe("splitting an embeddings answer", () => {
  for (const encoding of ["float", "base64"] as const) {
    test(`each member gets exactly the answer it would have got alone (${encoding})`, () => {
      const groups = [["alpha", "beta"], ["gamma"], ["delta, epsilon!", "zeta", "eta theta iota"]];
      const all = groups.flat();
      const list = scanEmbeddingList(simAnswer(all, encoding), all.length);
      let offset = 0;
      for (const g of groups) {
        const alone = JSON.parse(simAnswer(g, encoding)) as Json;
        const usage = { prompt_tokens: 7, completion_tokens: 0, total_tokens: 7 };
        const got = JSON.parse(renderMember(list, offset, g.length, usage)) as Json;
        assert.deepEqual(got.data, alone.data);
        assert.equal(got.model, "m");
        assert.equal(got.object, "list");
        assert.deepEqual(got.usage, { prompt_tokens: 7, total_tokens: 7 });
        offset += g.length;
      }
    });
  }

  test("elements out of order and pretty-printed JSON are put back by their index", () => {
    const parsed = JSON.parse(simAnswer(["a", "b", "c"])) as { data: Json[] };
    const shuffled = { ...parsed, data: [parsed.data[2], parsed.data[0], parsed.data[1]] };
    const list = scanEmbeddingList(JSON.stringify(shuffled, null, 2), 3);
    const second = JSON.parse(renderMember(list, 1, 2)) as { data: Json[] };
    assert.deepEqual(
      second.data.map((d) => d.index),
      [0, 1],
    );
    assert.deepEqual(second.data[0]?.embedding, parsed.data[1]?.embedding);
    assert.deepEqual(second.data[1]?.embedding, parsed.data[2]?.embedding);
  });

  test("answers that do not fit the batch are upstream_bad_response", () => {
    const code = (f: () => unknown) =>
      assert.throws(f, (e: unknown) => e instanceof GatewayError && e.code === "upstream_bad_response");
    code(() => scanEmbeddingList(simAnswer(["a", "b"]), 3));
    code(() => scanEmbeddingList("not json", 1));
    code(() => scanEmbeddingList('{"object":"list"}', 1));
    code(() => scanEmbeddingList('{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]}', 2));
    code(() => scanEmbeddingList('{"data":[{"index":5,"embedding":[1]}]}', 1));
    code(() => scanEmbeddingList('{"data":[{"index":0,"embedding":[1]}', 1));
  });

  test("splitEmbeddings shares the usage out by each member's tokens and skips members that left", () => {
    const members = [member(["one two three"]), member(["four"]), member(["five six"])];
    const all = members.flatMap((m) => m.items);
    const payload = simAnswer(all);
    const result = { kind: "json" as const, payload, usage: undefined, endpoint: "e" };
    const parts = splitEmbeddings(result, members, (i) => i !== 1, simItemTokens);
    assert.equal(parts[1], undefined);
    assert.deepEqual(parts[0]?.usage, { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 });
    assert.deepEqual(parts[2]?.usage, { prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 });
    assert.deepEqual((JSON.parse(String(parts[2]?.payload)) as Json).usage, {
      prompt_tokens: 2,
      total_tokens: 2,
    });
  });

  test("embeddingItems reads every input shape the route accepts", () => {
    assert.deepEqual(embeddingItems("x"), { items: ["x"], kind: "text" });
    assert.deepEqual(embeddingItems(["x", "y"]), { items: ["x", "y"], kind: "text" });
    assert.deepEqual(embeddingItems([1, 2, 3]), { items: [[1, 2, 3]], kind: "tokens" });
    assert.deepEqual(embeddingItems([[1], [2, 3]]), { items: [[1], [2, 3]], kind: "tokens" });
    assert.equal(embeddingItems([]), undefined);
    assert.equal(embeddingItems(42), undefined);
  });
});

describe("splitProportional", () => {
  test("shares add up to the total exactly and follow the weights", () => {
    fc.assert(
      fc.property(
        fc.nat(100_000),
        fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }),
        (total, weights) => {
          const shares = splitProportional(total, weights);
          assert.equal(
            shares.reduce((a, b) => a + b, 0),
            total,
          );
          const sum = weights.reduce((a, b) => a + b, 0);
          shares.forEach((s, i) => {
            assert.ok(Number.isInteger(s) && s >= 0);
            const exact = sum > 0 ? (total * (weights[i] as number)) / sum : total / weights.length;
            assert.ok(Math.abs(s - exact) < 1, `share ${s} vs ${exact}`);
          });
        },
      ),
    );
  });

  test("when the weights are the upstream's own counts, every share is exact", () => {
    assert.deepEqual(splitProportional(10, [3, 5, 2]), [3, 5, 2]);
    assert.deepEqual(splitProportional(0, [0, 0]), [0, 0]);
    assert.deepEqual(splitProportional(3, [0, 0, 0]), [1, 1, 1]);
  });
});
