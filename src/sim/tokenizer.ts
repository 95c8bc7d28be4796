/**
 * A deterministic toy tokenizer: a token is a run of up to 8 letters, digits or underscores, or one
 * other non-space character. Whitespace is never a token. Usage counts of the sim are exact under it.
 */
const TOKEN_SOURCE = "[\\p{L}\\p{N}_]{1,8}|[^\\s\\p{L}\\p{N}_]";
const TOKEN_RE = new RegExp(TOKEN_SOURCE, "gu");

export function tokenize(text: string): string[] {
  return text.match(TOKEN_RE) ?? [];
}

export function countTokens(text: string): number {
  const re = new RegExp(TOKEN_SOURCE, "gu");
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/** cyrb53: a fast 53-bit string hash with good spread (not cryptographic). */
export function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Folds any integer (request seeds may be large or negative) into 32 bits. */
export function fold32(n: number): number {
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(n))));
}

/** mulberry32: a small, fast seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
