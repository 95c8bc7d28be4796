/**
 * Dynamic batching over the `openai` backend: a gateway (in this process) in front of a real
 * `switchyard sim` process. The upstream reports one usage for the whole batch, which the gateway
 * shares out by its own token counts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { createGateway, type Gateway } from "../../src/app.js";
import { parseConfig } from "../../src/config/load.js";
import { type Running, startSim } from "../helpers/proc.js";

type Json = Record<string, unknown>;
interface Usage {
  prompt_tokens: number;
  total_tokens: number;
}

let simProc: Running;
let gw: Gateway;
let base: string;

before(async () => {
  simProc = await startSim(["--model", "embed:embedding"]);
  const endpoint = { kind: "openai", url: `${simProc.url}/v1`, model: "embed" };
  gw = await createGateway(
    parseConfig({
      logging: { level: "silent" },
      models: {
        "embed-batched": {
          type: "embedding",
          endpoints: [endpoint],
          batching: { maxBatchSize: 32, maxQueueDelayUs: 20_000 },
        },
      },
    }),
  );
  base = `http://127.0.0.1:${await gw.listen(0, "127.0.0.1")}`;
});

after(async () => {
  await gw?.close(1000);
  await simProc?.stop();
});

async function post(url: string, body: Json): Promise<Json> {
  const res = await request(`${url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.body.json()) as Json;
  assert.equal(res.statusCode, 200, JSON.stringify(json));
  return json;
}

const WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red", "house"];

function sentence(seed: number): string {
  const n = 1 + (seed % 7);
  return Array.from({ length: n }, (_, i) => WORDS[(seed * 7 + i * 3) % WORDS.length]).join(" ");
}

async function both(callers: Array<string | string[]>): Promise<Array<[Json, Json]>> {
  const [batched, direct] = await Promise.all([
    Promise.all(callers.map((input) => post(base, { model: "embed-batched", input }))),
    Promise.all(callers.map((input) => post(simProc.url, { model: "embed", input }))),
  ]);
  return batched.map((b, i) => [b, direct[i] as Json]);
}

async function batchCount(): Promise<number> {
  const metrics = await (await request(`${base}/metrics`)).body.text();
  const line = metrics
    .split("\n")
    .find((l) => l.startsWith('switchyard_batches_total{model="embed-batched"}'));
  return Number(line?.split(" ").pop() ?? 0);
}

describe("batching over the openai backend", () => {
  test("concurrent callers get the sim's own vectors; with tokenizers that agree, each its exact usage", async () => {
    // Plain lower-case words are one token each for the gateway's tokenizer and the sim's alike.
    const callers = Array.from({ length: 16 }, (_, i) =>
      i % 2 === 0 ? [sentence(i), sentence(i + 1)] : sentence(i),
    );
    const before = await batchCount();
    for (const [i, [got, want]] of (await both(callers)).entries()) {
      assert.deepEqual(got.data, want.data, `caller ${i}`);
      assert.equal(got.model, "embed");
      assert.deepEqual(got.usage, want.usage, `caller ${i}`);
    }
    const batches = (await batchCount()) - before;
    assert.ok(batches >= 1 && batches < callers.length, `${batches} batches for ${callers.length} requests`);
  });

  test("when the tokenizers disagree, the shares still add up to what the upstream counted", async () => {
    const callers = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 0 ? ["Hello, wörld! (émoji 🎉)", sentence(i)] : `x_${i}-y.z ${sentence(i)} ???`,
    );
    let sumBatched = 0;
    let sumDirect = 0;
    for (const [i, [got, want]] of (await both(callers)).entries()) {
      assert.deepEqual(got.data, want.data, `caller ${i}`);
      const gu = got.usage as Usage;
      assert.equal(gu.total_tokens, gu.prompt_tokens);
      sumBatched += gu.prompt_tokens;
      sumDirect += (want.usage as Usage).prompt_tokens;
    }
    assert.equal(sumBatched, sumDirect);
  });
});
