/**
 * How `/v1/embeddings` requests are merged and split: the inputs of several callers become one
 * `input` array, and the answer's `data` is cut back into each caller's vectors (indexed from 0),
 * with the upstream's usage shared out by each caller's items.
 */
import type { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import type { JsonResult, RouteRequest, RouteResult, Usage } from "../core/types.js";
import type { BatchCodec } from "./codec.js";
import { renderMember, scanEmbeddingList } from "./embedding-list.js";
import { type ItemCounter, splitProportional } from "./usage.js";

export type EmbeddingItem = string | readonly number[];

/** One caller's embeddings request, ready to ride in a batch. */
export interface EmbeddingMember {
  readonly req: RouteRequest;
  readonly ctx: RequestContext;
  readonly items: readonly EmbeddingItem[];
}

/** The items of an `input` (as validated by the route) and whether they are text or token ids. */
export function embeddingItems(
  input: unknown,
): { items: readonly EmbeddingItem[]; kind: "text" | "tokens" } | undefined {
  if (typeof input === "string") return { items: [input], kind: "text" };
  if (!Array.isArray(input) || input.length === 0) return undefined;
  const first: unknown = input[0];
  if (typeof first === "number") return { items: [input as number[]], kind: "tokens" };
  if (typeof first === "string") return { items: input as string[], kind: "text" };
  if (Array.isArray(first)) return { items: input as number[][], kind: "tokens" };
  return undefined;
}

/**
 * Requests may share a batch when everything but their `input` is the same: the body's other fields
 * (`encoding_format`, `dimensions`, `user`, …), the forwarded headers and the priority class.
 */
function keyOf(req: RouteRequest, kind: string): string {
  const { input: _input, ...rest } = req.body;
  return `${kind}\u0001${req.priority ?? ""}\u0001${JSON.stringify(req.forwardHeaders ?? {})}\u0001${JSON.stringify(rest)}`;
}

/** Shares the upstream's usage out in proportion to each member's counted tokens; totals are kept exactly. */
export function shareUsage(total: Usage, members: readonly EmbeddingMember[], count: ItemCounter): Usage[] {
  const weights = members.map((m) => m.items.reduce((n, item) => n + count(item), 0));
  const prompt = splitProportional(total.prompt_tokens, weights);
  const all = splitProportional(total.total_tokens, weights);
  const completion = splitProportional(total.completion_tokens, weights);
  return members.map((_, i) => ({
    prompt_tokens: prompt[i] as number,
    completion_tokens: completion[i] as number,
    total_tokens: all[i] as number,
  }));
}

/** Cuts a batch's answer into one answer per member (`undefined` for members no longer waiting). */
export function splitEmbeddings(
  result: RouteResult,
  members: readonly EmbeddingMember[],
  live: (i: number) => boolean,
  count: ItemCounter,
): Array<JsonResult | undefined> {
  if (result.kind !== "json") throw new GatewayError("internal_error", "an embeddings batch was streamed");
  const text = typeof result.payload === "string" ? result.payload : result.payload.toString("utf8");
  const items = members.reduce((n, m) => n + m.items.length, 0);
  const list = scanEmbeddingList(text, items);
  const usages = list.usage ? shareUsage(list.usage, members, count) : undefined;
  let offset = 0;
  return members.map((m, i) => {
    const at = offset;
    offset += m.items.length;
    if (!live(i)) return undefined;
    const usage = usages?.[i];
    const payload = renderMember(list, at, m.items.length, usage);
    return { kind: "json", payload, usage, endpoint: result.endpoint };
  });
}

/** The codec of `/v1/embeddings` for the batching front. */
export function embeddingsCodec(counter: (model: string) => ItemCounter): BatchCodec<EmbeddingMember> {
  return {
    prepare(req, ctx) {
      if (req.op !== "embedding" || req.stream) return undefined;
      const parsed = embeddingItems(req.body.input);
      if (!parsed) return undefined;
      return {
        key: keyOf(req, parsed.kind),
        size: parsed.items.length,
        member: { req, ctx, items: parsed.items },
      };
    },
    merge(members) {
      const first = (members[0] as EmbeddingMember).req;
      const input = members.flatMap((m) => m.items);
      return { ...first, body: { ...first.body, input }, raw: undefined };
    },
    split(result, members, live) {
      return splitEmbeddings(result, members, live, counter((members[0] as EmbeddingMember).req.model));
    },
  };
}
