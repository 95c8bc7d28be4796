import { hash53 } from "./tokenizer.js";

/**
 * Automatic prefix caching as vLLM does it: the prompt is cut into full blocks of `blockTokens`
 * tokens; each block is keyed by a hash of itself and every block before it. Leading blocks found in
 * the cache cost nothing at prefill. The cache keeps at most `maxBlocks` blocks, least recently used out.
 */
export class PrefixCache {
  private readonly blocks = new Map<number, true>();
  queriedTokens = 0;
  hitTokens = 0;

  constructor(
    private readonly blockTokens: number,
    private readonly maxBlocks: number,
  ) {}

  get size(): number {
    return this.blocks.size;
  }

  /** Returns how many leading prompt tokens were cached, and caches the prompt's full blocks. */
  lookupAndInsert(tokens: readonly string[]): number {
    const n = Math.floor(tokens.length / this.blockTokens);
    let prev = 0;
    let hitBlocks = 0;
    let missed = false;
    for (let b = 0; b < n; b++) {
      const start = b * this.blockTokens;
      const key = hash53(tokens.slice(start, start + this.blockTokens).join("\u0001"), prev >>> 0);
      prev = key;
      if (!missed && this.blocks.has(key)) hitBlocks++;
      else missed = true;
      this.touch(key);
    }
    // At least one prompt token is always computed (the engine needs its logits).
    const hit = Math.min(hitBlocks * this.blockTokens, Math.max(0, tokens.length - 1));
    this.queriedTokens += tokens.length;
    this.hitTokens += hit;
    return hit;
  }

  private touch(key: number): void {
    if (this.maxBlocks === 0) return;
    this.blocks.delete(key);
    this.blocks.set(key, true);
    if (this.blocks.size > this.maxBlocks) {
      const oldest = this.blocks.keys().next().value as number;
      this.blocks.delete(oldest);
    }
  }
}
