import { chatMessageOf, known, num, type Obj, obj, objs, str } from "../grpc/chat-message.js";
import type { ChatChunk__Output } from "../grpc/generated/switchyard/v1/ChatChunk.js";
import type { ChatMessage__Output } from "../grpc/generated/switchyard/v1/ChatMessage.js";
import type { ChatRequest } from "../grpc/generated/switchyard/v1/ChatRequest.js";
import type { ChatResponse__Output } from "../grpc/generated/switchyard/v1/ChatResponse.js";
import type { CompletionRequest } from "../grpc/generated/switchyard/v1/CompletionRequest.js";
import type { CompletionResponse__Output } from "../grpc/generated/switchyard/v1/CompletionResponse.js";
import type { EmbedRequest } from "../grpc/generated/switchyard/v1/EmbedRequest.js";
import type { EmbedResponse__Output } from "../grpc/generated/switchyard/v1/EmbedResponse.js";
import type { ToolCall__Output } from "../grpc/generated/switchyard/v1/ToolCall.js";
import type { Usage__Output } from "../grpc/generated/switchyard/v1/Usage.js";
import { extraOf, fromStruct, toStruct, toValue } from "../grpc/struct.js";

/**
 * OpenAI-shaped request bodies → `switchyard.v1` request messages, and response messages → the
 * OpenAI-shaped JSON the gateway answers with: the inverse of what the gRPC front door does, so a
 * request means the same thing through a chain of Switchyards. Fields without a field of their own
 * travel in `extra` both ways.
 */

const SAMPLING = [
  "model",
  "max_tokens",
  "temperature",
  "top_p",
  "stop",
  "n",
  "seed",
  "user",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "stream",
  "stream_options",
];
const CHAT = known(
  ...SAMPLING,
  "messages",
  "max_completion_tokens",
  "logprobs",
  "top_logprobs",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "response_format",
);
const COMPLETION = known(...SAMPLING, "prompt", "logprobs", "echo", "best_of", "suffix");
const EMBED = known("model", "input", "dimensions", "user", "encoding_format");

const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);
const stopList = (v: unknown): string[] | undefined =>
  typeof v === "string" ? [v] : Array.isArray(v) ? v.filter((s) => typeof s === "string") : undefined;
const numberMap = (v: unknown): Record<string, number> | undefined =>
  obj(v) as Record<string, number> | undefined;

function sampling(b: Obj, model: string) {
  return {
    model,
    max_tokens: num(b.max_tokens),
    temperature: num(b.temperature),
    top_p: num(b.top_p),
    stop: stopList(b.stop),
    n: num(b.n),
    seed: num(b.seed),
    user: str(b.user),
    presence_penalty: num(b.presence_penalty),
    frequency_penalty: num(b.frequency_penalty),
    logit_bias: numberMap(b.logit_bias),
  };
}

export function chatRequest(b: Obj, model: string): ChatRequest {
  const rf = obj(b.response_format);
  return {
    ...sampling(b, model),
    // A tool call without a type is a function call (the only type OpenAI defines).
    messages: objs(b.messages).map((m) => chatMessageOf(m, "function")),
    max_completion_tokens: num(b.max_completion_tokens),
    logprobs: bool(b.logprobs),
    top_logprobs: num(b.top_logprobs),
    tools: objs(b.tools).map((t) => {
      const f = obj(t.function) ?? {};
      const params = obj(f.parameters);
      return {
        type: str(t.type) ?? "function",
        function: {
          name: str(f.name) ?? "",
          description: str(f.description),
          parameters: params && toStruct(params),
          strict: bool(f.strict),
        },
      };
    }),
    tool_choice: b.tool_choice === undefined ? undefined : toValue(b.tool_choice),
    parallel_tool_calls: bool(b.parallel_tool_calls),
    response_format: rf && toStruct(rf),
    extra: extraOf(b, CHAT),
  };
}

/** A prompt or input: one text, texts, token ids or batches of token ids. */
function textsOrIds(v: unknown): { texts: string[]; ids: Array<{ ids: number[] }> } {
  if (typeof v === "string") return { texts: [v], ids: [] };
  if (!Array.isArray(v) || v.length === 0) return { texts: [], ids: [] };
  if (typeof v[0] === "string") return { texts: v as string[], ids: [] };
  if (typeof v[0] === "number") return { texts: [], ids: [{ ids: v as number[] }] };
  return { texts: [], ids: (v as number[][]).map((ids) => ({ ids })) };
}

export function completionRequest(b: Obj, model: string): CompletionRequest {
  const p = textsOrIds(b.prompt);
  return {
    ...sampling(b, model),
    prompt: p.texts,
    prompt_token_ids: p.ids,
    logprobs: num(b.logprobs),
    echo: bool(b.echo),
    best_of: num(b.best_of),
    suffix: str(b.suffix),
    extra: extraOf(b, COMPLETION),
  };
}

export function embedRequest(b: Obj, model: string): EmbedRequest {
  const p = textsOrIds(b.input);
  return {
    model,
    input: p.texts,
    input_token_ids: p.ids,
    dimensions: num(b.dimensions),
    user: str(b.user),
    extra: extraOf(b, EMBED),
  };
}

// ------------------------------------------------------------------------------------------
// Responses

/** Sets `key` on `out` unless the value is undefined. */
function put(out: Obj, key: string, v: unknown): void {
  if (v !== undefined) out[key] = v;
}

export function usageJson(u: Usage__Output | undefined): Obj | undefined {
  if (!u) return undefined;
  return {
    prompt_tokens: u.prompt_tokens ?? 0,
    completion_tokens: u.completion_tokens ?? 0,
    total_tokens: u.total_tokens ?? 0,
    ...fromStruct(u.extra),
  };
}

function toolCallsIn(v: ToolCall__Output[] | undefined): Obj[] | undefined {
  if (!v?.length) return undefined;
  return v.map((c) => {
    const out: Obj = {
      id: c.id ?? "",
      type: c.type ?? "function",
      function: { name: c.function?.name ?? "", arguments: c.function?.arguments ?? "" },
    };
    put(out, "index", c.index);
    return out;
  });
}

function messageIn(m: ChatMessage__Output | undefined): Obj {
  if (!m) return { role: "assistant", content: null };
  const out: Obj = { role: m.role ?? "assistant" };
  if (m.content !== undefined) out.content = m.content;
  else if (m.parts)
    out.content = (m.parts.parts ?? []).map((p) => {
      const part: Obj = { type: p.type ?? "", ...fromStruct(p.extra) };
      put(part, "text", p.text);
      if (p.image_url)
        part.image_url = {
          url: p.image_url.url ?? "",
          ...(p.image_url.detail ? { detail: p.image_url.detail } : {}),
        };
      return part;
    });
  else out.content = null;
  put(out, "name", m.name);
  put(out, "tool_calls", toolCallsIn(m.tool_calls));
  put(out, "tool_call_id", m.tool_call_id);
  put(out, "refusal", m.refusal);
  return { ...out, ...fromStruct(m.extra) };
}

interface Head {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string;
  usage?: Usage__Output;
  extra?: Parameters<typeof fromStruct>[0];
}

function head(r: Head, object: string): Obj {
  const out: Obj = {
    id: r.id ?? "",
    object: r.object || object,
    created: r.created ?? 0,
    model: r.model ?? "",
  };
  put(out, "system_fingerprint", r.system_fingerprint);
  return out;
}

function tail(out: Obj, r: Head): Obj {
  put(out, "usage", usageJson(r.usage));
  return { ...out, ...fromStruct(r.extra) };
}

interface ChoiceHead {
  index?: number;
  finish_reason?: string;
  logprobs?: Parameters<typeof fromStruct>[0];
}

function choice(c: ChoiceHead, body: Obj): Obj {
  return {
    index: c.index ?? 0,
    ...body,
    logprobs: c.logprobs ? fromStruct(c.logprobs) : null,
    finish_reason: c.finish_reason || null,
  };
}

export function chatJson(r: ChatResponse__Output): Obj {
  const out = head(r, "chat.completion");
  out.choices = (r.choices ?? []).map((c) => choice(c, { message: messageIn(c.message) }));
  return tail(out, r);
}

export function chatChunkJson(r: ChatChunk__Output): Obj {
  const out = head(r, "chat.completion.chunk");
  out.choices = (r.choices ?? []).map((c) => {
    const d = c.delta;
    const delta: Obj = {};
    put(delta, "role", d?.role);
    put(delta, "content", d?.content);
    put(delta, "tool_calls", toolCallsIn(d?.tool_calls));
    put(delta, "refusal", d?.refusal);
    return choice(c, { delta: { ...delta, ...fromStruct(d?.extra) } });
  });
  return tail(out, r);
}

export function completionJson(r: CompletionResponse__Output): Obj {
  const out = head(r, "text_completion");
  out.choices = (r.choices ?? []).map((c) => choice(c, { text: c.text ?? "" }));
  return tail(out, r);
}

/** Embeddings as OpenAI answers them; `base64` when the request asked for it (little-endian float32). */
export function embedJson(r: EmbedResponse__Output, encoding: unknown): Obj {
  const data = (r.data ?? []).map((d) => {
    const v = d.embedding ?? [];
    let embedding: number[] | string = v;
    if (encoding === "base64") {
      const buf = Buffer.alloc(v.length * 4);
      v.forEach((x, i) => {
        buf.writeFloatLE(x, i * 4);
      });
      embedding = buf.toString("base64");
    }
    return { object: "embedding", index: d.index ?? 0, embedding };
  });
  const out: Obj = { object: r.object || "list", data, model: r.model ?? "" };
  const usage = usageJson(r.usage);
  // Embeddings produce no completion tokens, and OpenAI's answer has no such field.
  if (usage) {
    const { completion_tokens: _none, ...rest } = usage;
    out.usage = rest;
  }
  return { ...out, ...fromStruct(r.extra) };
}
