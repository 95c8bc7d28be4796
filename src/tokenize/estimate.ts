/**
 * Token estimates taken before a call, for token limits and budgets. Counts with a real BPE
 * tokenizer (`gpt-tokenizer`, cl100k_base: the vocabulary of GPT-4 and close to Llama 3's), loaded
 * on first use so a gateway without token limits never pays for it (~48 MB RSS, ~0.3 s to load;
 * call `preloadTokenizer()` at start when token limits are configured). Big inputs are estimated
 * by characters instead, so one huge body cannot burn the CPU.
 */
import { createRequire } from "node:module";
import type * as Cl100k from "gpt-tokenizer/encoding/cl100k_base";

/** `infer` (tensor inference) carries no text: it is estimated at zero tokens. */
export type EstimateOp = "chat" | "completion" | "embedding" | "infer";

/** Above this many characters in one request, estimate `ceil(chars / 4)` instead of tokenizing. */
export const TOKENIZE_MAX_CHARS = 200_000;
/** Tokens every chat message costs beyond its role and content (separators), as OpenAI counts them. */
export const TOKENS_PER_MESSAGE = 3;
/** Tokens that prime the assistant's reply in every chat request. */
export const TOKENS_PER_REPLY = 3;
/** Tokens counted for one non-text content part (an image in high detail at 1024×1024). */
export const TOKENS_PER_MEDIA_PART = 765;

type CountFn = typeof Cl100k.countTokens;
let counter: CountFn | undefined;
const NO_SPECIAL = { disallowedSpecial: new Set<string>() };

/**
 * Longest piece tokenized in one go. BPE merging is quadratic in the length of one pre-token (a run
 * of 200 000 letters takes ~1 min), so texts are cut into pieces of at most this many characters,
 * preferably after whitespace; the count then differs from the whole-text count only at the cuts.
 */
const PIECE_CHARS = 1_000;

/** Where to cut `text` at or before `end`: after the last whitespace within 100 chars, never inside a surrogate pair. */
function cutAt(text: string, start: number, end: number): number {
  if (end >= text.length) return text.length;
  for (let i = end; i > end - 100 && i > start; i--) {
    const c = text.charCodeAt(i - 1);
    if (c === 32 || c === 10 || c === 9 || c === 13) return i;
  }
  const c = text.charCodeAt(end - 1);
  return c >= 0xd800 && c <= 0xdbff ? end - 1 : end;
}

/**
 * Counts of recent texts up to `MEMO_MAX_CHARS` long. Chat requests repeat most of their text (a
 * system prompt, the earlier turns of a conversation, the role names), so a repeated text is looked
 * up instead of tokenized again. Bounded: at most `MEMO_ENTRIES` texts (about 4 MB), emptied when full.
 */
const MEMO_MAX_CHARS = 1_000;
const MEMO_ENTRIES = 2_048;
const memo = new Map<string, number>();

function count(text: string): number {
  if (text.length <= MEMO_MAX_CHARS) {
    const known = memo.get(text);
    if (known !== undefined) return known;
    const n = countPiece(text);
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    memo.set(text, n);
    return n;
  }
  let n = 0;
  for (let start = 0; start < text.length; ) {
    const end = cutAt(text, start, start + PIECE_CHARS);
    n += countPiece(text.slice(start, end));
    start = end;
  }
  return n;
}

function countPiece(text: string): number {
  if (counter === undefined) {
    const mod = createRequire(import.meta.url)("gpt-tokenizer/encoding/cl100k_base") as typeof Cl100k;
    mod.setMergeCacheSize(10_000);
    counter = mod.countTokens;
  }
  // Special-token text such as `<|endoftext|>` is counted as plain text, never rejected.
  return counter(text, NO_SPECIAL);
}

/** Loads the tokenizer now (at start) rather than on the first request that needs it. */
export function preloadTokenizer(): void {
  countPiece("");
}

/** Whether the tokenizer has been loaded (it never is unless something needed a count). */
export function isTokenizerLoaded(): boolean {
  return counter !== undefined;
}

/** Texts to tokenize plus token counts known without tokenizing (token ids, media, overheads). */
interface Parts {
  texts: string[];
  chars: number;
  fixed: number;
}

function addText(p: Parts, s: string): void {
  p.texts.push(s);
  p.chars += s.length;
}

/** A prompt or embedding input: a string, strings, token ids, or arrays of token ids. */
function addInput(p: Parts, v: unknown): void {
  if (typeof v === "string") addText(p, v);
  else if (typeof v === "number") p.fixed += 1;
  else if (Array.isArray(v)) for (const x of v) addInput(p, x);
}

function addContent(p: Parts, content: unknown): void {
  if (typeof content === "string") {
    addText(p, content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (typeof part === "string") addText(p, part);
    else if (part && typeof part === "object") {
      const text = (part as { text?: unknown }).text;
      if (typeof text === "string") addText(p, text);
      else p.fixed += TOKENS_PER_MEDIA_PART;
    }
  }
}

function addJson(p: Parts, v: unknown): void {
  if (v === undefined || v === null) return;
  const s = JSON.stringify(v);
  if (typeof s === "string") addText(p, s);
}

function addChat(p: Parts, body: Record<string, unknown>): void {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  p.fixed += TOKENS_PER_REPLY;
  for (const m of messages) {
    p.fixed += TOKENS_PER_MESSAGE;
    if (!m || typeof m !== "object") continue;
    const msg = m as Record<string, unknown>;
    if (typeof msg.role === "string") addText(p, msg.role);
    addContent(p, msg.content);
    if (typeof msg.name === "string") {
      addText(p, msg.name);
      p.fixed += 1;
    }
    addJson(p, msg.tool_calls);
    addJson(p, msg.function_call);
  }
  addJson(p, body.tools);
  addJson(p, body.functions);
}

/** Estimated prompt tokens of a request body (already validated for its operation). */
export function estimatePromptTokens(op: EstimateOp, body: Record<string, unknown>): number {
  const p: Parts = { texts: [], chars: 0, fixed: 0 };
  if (op === "infer") return 0;
  if (op === "chat") addChat(p, body);
  else if (op === "completion") addInput(p, body.prompt);
  else addInput(p, body.input);
  if (p.chars > TOKENIZE_MAX_CHARS) return p.fixed + Math.ceil(p.chars / 4);
  let n = p.fixed;
  for (const t of p.texts) if (t.length > 0) n += count(t);
  return n;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/**
 * The most completion tokens a request may produce: `max_completion_tokens`, else `max_tokens`,
 * else `fallback` (`limits.defaultMaxTokensEstimate`), times the number of choices (`n`, or
 * `best_of` for completions when larger).
 */
export function maxOutputTokens(body: Record<string, unknown>, fallback: number): number {
  const per = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens) ?? fallback;
  const choices = Math.max(positiveInt(body.n) ?? 1, positiveInt(body.best_of) ?? 1);
  return per * choices;
}

/** Prompt and output estimate of one request; embeddings produce no output tokens. */
export function estimateRequest(
  op: EstimateOp,
  body: Record<string, unknown>,
  defaultMaxTokens: number,
): { promptTokens: number; maxOutputTokens: number } {
  return {
    promptTokens: estimatePromptTokens(op, body),
    maxOutputTokens: op === "embedding" || op === "infer" ? 0 : maxOutputTokens(body, defaultMaxTokens),
  };
}
