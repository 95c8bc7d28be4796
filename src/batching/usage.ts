import { countTokens as simCountTokens } from "../sim/tokenizer.js";
import { estimatePromptTokens } from "../tokenize/estimate.js";

/** Counts the tokens of one embeddings input (a string, or an array of token ids). */
export type ItemCounter = (item: string | readonly number[]) => number;

/** Counts with the gateway's BPE tokenizer (cl100k_base): close to, not exactly, most upstreams' counts. */
export const estimateItemTokens: ItemCounter = (item) =>
  typeof item === "string" ? estimatePromptTokens("embedding", { input: item }) : item.length;

/** Counts as the built-in `sim` backend does (exact for models served by sims only). */
export const simItemTokens: ItemCounter = (item) =>
  typeof item === "string" ? simCountTokens(item) : item.length;

/**
 * Splits `total` into whole shares proportional to `weights` (largest remainder), so the shares add
 * up to `total` exactly. With all weights zero the split is even.
 */
export function splitProportional(total: number, weights: readonly number[]): number[] {
  const n = weights.length;
  if (n === 0) return [];
  let sum = 0;
  for (const w of weights) sum += Math.max(0, w);
  const base = sum > 0 ? weights.map((w) => Math.max(0, w) / sum) : weights.map(() => 1 / n);
  const shares = base.map((f) => Math.floor(total * f));
  let left = total - shares.reduce((a, b) => a + b, 0);
  // Hand the rest out by largest fractional part; ties to the earlier member.
  const order = base
    .map((f, i) => ({ i, frac: total * f - Math.floor(total * f) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; left > 0 && n > 0; k = (k + 1) % n, left--) {
    const at = (order[k] as { i: number }).i;
    shares[at] = (shares[at] as number) + 1;
  }
  return shares;
}
