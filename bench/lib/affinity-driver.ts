import { request } from "undici";
import { nowUs, summarize } from "./stats.js";
import type { Percentiles } from "./types.js";

/**
 * The affinity workload (issue 5): `prompts` long system prompts, each used once per round with a
 * different user turn; the order of the prompts is shuffled anew every round (seeded, the same for
 * every balancer), so that round robin does not land each prompt on the same replica by accident.
 */
export interface AffinityOptions {
  port: number;
  model: string;
  prompts: number;
  rounds: number;
  /** Repeats of a two-token phrase: the system prompt is about 2 × this many sim tokens. */
  phraseRepeats: number;
}

export interface AffinityResult {
  requests: number;
  errors: number;
  meanTtftUs: number;
  /** Mean TTFT of each prompt's first use (a cache miss under any balancer). */
  firstUseMeanUs: number;
  /** Mean TTFT of the repeats (a hit under affinity, a hit only by chance under round robin). */
  repeatMeanUs: number;
  ttftUs: Percentiles;
}

function shuffled(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

function body(opts: AffinityOptions, system: string, user: string): string {
  return JSON.stringify({
    model: opts.model,
    max_tokens: 1,
    stream: true,
    messages: [
      { role: "system", content: system },
      { role: "user", content: user },
    ],
  });
}

const NON_EMPTY_CONTENT = /"content":"[^"]/;

/** Time from sending to the first chunk that carries content, in µs; undefined on a failure. */
async function ttft(port: number, payload: string): Promise<number | undefined> {
  const t0 = nowUs();
  const res = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: payload,
  });
  // A chat stream opens with a role chunk (`"content":""`); the sim sends it with the first token, at the
  // end of prefill, but a server may send it earlier, so only non-empty content counts.
  let first: number | undefined;
  let seen = "";
  for await (const chunk of res.body) {
    if (first !== undefined) continue;
    seen += String(chunk);
    if (NON_EMPTY_CONTENT.test(seen)) first = nowUs() - t0;
  }
  return res.statusCode === 200 ? first : undefined;
}

export async function runAffinity(opts: AffinityOptions): Promise<AffinityResult> {
  const systems = Array.from(
    { length: opts.prompts },
    (_, i) => `System prompt number ${i}. ${"policy clause ".repeat(opts.phraseRepeats)}`,
  );
  // Warm-up: connections and JIT, on prompts that share nothing with the workload.
  for (let i = 0; i < 4; i++) await ttft(opts.port, body(opts, `warm-up ${i}`, "hello"));
  const first: number[] = [];
  const repeat: number[] = [];
  let errors = 0;
  for (let round = 0; round < opts.rounds; round++) {
    for (const i of shuffled(opts.prompts, 7919 * (round + 1))) {
      const t = await ttft(opts.port, body(opts, systems[i] as string, `question ${round}-${i}`)).catch(
        () => undefined,
      );
      if (t === undefined) errors++;
      else (round === 0 ? first : repeat).push(t);
    }
  }
  const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const all = [...first, ...repeat];
  return {
    requests: all.length,
    errors,
    meanTtftUs: mean(all),
    firstUseMeanUs: mean(first),
    repeatMeanUs: mean(repeat),
    ttftUs: summarize(all),
  };
}
