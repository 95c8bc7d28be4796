import type { Usage } from "../core/types.js";

function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** Reads an OpenAI `usage` object from a parsed response or chunk; undefined when absent or null. */
export function extractUsage(parsed: unknown): Usage | undefined {
  if (!parsed || typeof parsed !== "object") return undefined;
  const u = (parsed as { usage?: unknown }).usage;
  if (!u || typeof u !== "object") return undefined;
  const rec = u as Record<string, unknown>;
  const prompt = count(rec.prompt_tokens);
  const completion = count(rec.completion_tokens);
  const total = count(rec.total_tokens) || prompt + completion;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total };
}
