import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chat, readSse, sleep, startTestSim, type TestSim, uniqueText } from "./_helpers.js";

/** Milliseconds from sending a streaming request to its first content token. */
async function ttft(sim: TestSim, body: Record<string, unknown>): Promise<number> {
  const t0 = performance.now();
  const res = await sim.post("/v1/chat/completions", { ...body, stream: true });
  let seen = 0;
  let first = 0;
  for await (const _ of readSse(res)) {
    if (++seen === 2) first = performance.now() - t0;
  }
  return first;
}

async function elapsed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

describe("sim timing (large-shaped costs, scaled)", () => {
  let sim: TestSim;
  before(async () => {
    sim = await startTestSim({
      // 10 ms + 0.05 ms per uncached prompt token: 4,000 tokens cost 200 ms more than a short prompt.
      prefill: { preset: "large", ttftBaseMs: 10, ttftPerPromptTokenMs: 0.05, itlBaseMs: 1 },
      batch: { preset: "large", ttftBaseMs: 0, itlBaseMs: 15, itlPerRunningSeqMs: 0, maxRunningSeqs: 2 },
      itl: { preset: "large", ttftBaseMs: 0, itlBaseMs: 2, itlPerRunningSeqMs: 2 },
      full: { preset: "large", ttftBaseMs: 0, itlBaseMs: 30, maxRunningSeqs: 1, maxWaitingSeqs: 0 },
      enc: { preset: "embedding", embedding: { perCallMs: 40, perItemMs: 1, maxConcurrentCalls: 1 } },
    });
    // Warm up the client and server code paths so the first measurement is not a cold start.
    await ttft(sim, chat("prefill", "warm up", { max_tokens: 2 }));
  });
  after(() => sim.server.close());

  it("time to first token grows with the prompt and shrinks with a cached prefix", async () => {
    const long = uniqueText(4000);
    const short = await ttft(sim, chat("prefill", "hi", { max_tokens: 2 }));
    const cold = await ttft(sim, chat("prefill", long, { max_tokens: 2 }));
    const warm = await ttft(sim, chat("prefill", `${long} and one more question`, { max_tokens: 2 }));
    assert.ok(cold - short > 100, `cold ${cold} vs short ${short}`);
    assert.ok(cold - warm > 100, `cold ${cold} vs warm ${warm}`);
    const metrics = await (await sim.get("/metrics")).text();
    const hits = Number(/sim_prefix_cache_hits_total\{model="prefill"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(hits >= 3990, `hits ${hits}`);
  });

  it("the (maxRunningSeqs+1)-th request waits for a slot", async () => {
    const body = chat("batch", "go", { max_tokens: 6 });
    const times = await Promise.all(
      [0, 1, 2].map(() => elapsed(() => sim.post("/v1/chat/completions", body).then((r) => r.json()))),
    );
    const [a, b, c] = times as [number, number, number];
    assert.ok(a >= 70 && b >= 70, `first two ${a} ${b}`);
    assert.ok(c >= a + 60, `third ${c} should wait for a slot (first ${a})`);
  });

  it("inter-token latency grows with the running batch", async () => {
    const body = chat("itl", "go", { max_tokens: 10 });
    const alone = await elapsed(() => sim.post("/v1/chat/completions", body).then((r) => r.json()));
    const crowded = await Promise.all(
      Array.from({ length: 20 }, () =>
        elapsed(() => sim.post("/v1/chat/completions", body).then((r) => r.json())),
      ),
    );
    // Alone: 10 x (2 + 2x1) ms; with 20 running: about 10 x (2 + 2x20) ms.
    const mean = crowded.reduce((a, b) => a + b, 0) / crowded.length;
    assert.ok(mean > alone * 3, `alone ${alone}, crowded mean ${mean}`);
  });

  it("a full waiting queue answers 503 like an overloaded engine", async () => {
    const first = sim.post("/v1/chat/completions", chat("full", "go", { max_tokens: 3 }));
    while (!/sim_running_seqs\{model="full"\} 1/.test(await (await sim.get("/metrics")).text()))
      await sleep(2);
    const second = await sim.post("/v1/chat/completions", chat("full", "go", { max_tokens: 3 }));
    assert.equal(second.status, 503);
    assert.equal(second.headers.get("retry-after"), "1");
    assert.equal(((await second.json()) as { error: { code: string } }).error.code, "overloaded");
    assert.equal((await first).status, 200);
  });

  it("embeddings cost per call far more than per item", async () => {
    const one = (input: unknown) => sim.post("/v1/embeddings", { model: "enc", input }).then((r) => r.json());
    const items = Array.from({ length: 8 }, (_, i) => `item ${i}`);
    const separate = await elapsed(() => Promise.all(items.map((t) => one(t))));
    const batched = await elapsed(() => one(items));
    // Separate: 8 x 41 ms one after another; batched: 48 ms once.
    assert.ok(separate >= 8 * 41, `separate ${separate}`);
    assert.ok(batched < separate / 3, `batched ${batched} vs separate ${separate}`);
  });
});
