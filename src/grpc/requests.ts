/**
 * gRPC request messages → the OpenAI-shaped bodies the router takes. Fields named in the .proto
 * keep their names; `extra` is merged in first, so a typed field wins over an `extra` key of the
 * same name. The body is then checked by the same validation as HTTP.
 */
import { GatewayError } from "../core/errors.js";
import type { ChatMessage__Output } from "./generated/switchyard/v1/ChatMessage.js";
import type { ChatRequest__Output } from "./generated/switchyard/v1/ChatRequest.js";
import type { CompletionRequest__Output } from "./generated/switchyard/v1/CompletionRequest.js";
import type { ContentPart__Output } from "./generated/switchyard/v1/ContentPart.js";
import type { EmbedRequest__Output } from "./generated/switchyard/v1/EmbedRequest.js";
import type { TokenIds__Output } from "./generated/switchyard/v1/TokenIds.js";
import type { Tool__Output } from "./generated/switchyard/v1/Tool.js";
import type { ToolCall__Output } from "./generated/switchyard/v1/ToolCall.js";
import { fromStruct, fromValue } from "./struct.js";

type Body = Record<string, unknown>;

/** Sets `key` unless `value` is undefined (absent in the message). */
function put(out: Body, key: string, value: unknown): void {
  if (value !== undefined) out[key] = value;
}

/** Starts a body from `extra`, without the fields the RPC itself decides. */
function base(extra: Parameters<typeof fromStruct>[0]): Body {
  const out: Body = fromStruct(extra);
  delete out.stream;
  delete out.stream_options;
  return out;
}

function samplingInto(out: Body, r: ChatRequest__Output | CompletionRequest__Output): void {
  put(out, "model", r.model);
  put(out, "max_tokens", r.max_tokens);
  put(out, "temperature", r.temperature);
  put(out, "top_p", r.top_p);
  if (r.stop?.length) out.stop = r.stop;
  put(out, "n", r.n);
  put(out, "seed", r.seed);
  put(out, "user", r.user);
  put(out, "presence_penalty", r.presence_penalty);
  put(out, "frequency_penalty", r.frequency_penalty);
  if (r.logit_bias && Object.keys(r.logit_bias).length > 0) out.logit_bias = r.logit_bias;
}

export function chatBody(r: ChatRequest__Output): Body {
  const out = base(r.extra);
  samplingInto(out, r);
  out.messages = (r.messages ?? []).map(messageBody);
  put(out, "max_completion_tokens", r.max_completion_tokens);
  put(out, "logprobs", r.logprobs);
  put(out, "top_logprobs", r.top_logprobs);
  if (r.tools?.length) out.tools = r.tools.map(toolBody);
  if (r.tool_choice) out.tool_choice = fromValue(r.tool_choice);
  put(out, "parallel_tool_calls", r.parallel_tool_calls);
  if (r.response_format) out.response_format = fromStruct(r.response_format);
  return out;
}

function messageBody(m: ChatMessage__Output): Body {
  const out: Body = fromStruct(m.extra);
  put(out, "role", m.role);
  if (m.content_kind === "content") out.content = m.content ?? "";
  else if (m.content_kind === "parts") out.content = (m.parts?.parts ?? []).map(partBody);
  put(out, "name", m.name);
  if (m.tool_calls?.length) out.tool_calls = m.tool_calls.map(toolCallBody);
  put(out, "tool_call_id", m.tool_call_id);
  put(out, "refusal", m.refusal);
  return out;
}

function partBody(p: ContentPart__Output): Body {
  const out: Body = fromStruct(p.extra);
  put(out, "type", p.type);
  put(out, "text", p.text);
  if (p.image_url) {
    const img: Body = { url: p.image_url.url ?? "" };
    put(img, "detail", p.image_url.detail);
    out.image_url = img;
  }
  return out;
}

function toolCallBody(c: ToolCall__Output): Body {
  const out: Body = {};
  put(out, "index", c.index);
  put(out, "id", c.id);
  put(out, "type", c.type);
  if (c.function) out.function = { name: c.function.name ?? "", arguments: c.function.arguments ?? "" };
  return out;
}

function toolBody(t: Tool__Output): Body {
  const out: Body = {};
  put(out, "type", t.type);
  const f = t.function;
  if (f) {
    const fn: Body = { name: f.name ?? "" };
    put(fn, "description", f.description);
    if (f.parameters) fn.parameters = fromStruct(f.parameters);
    put(fn, "strict", f.strict);
    out.function = fn;
  }
  return out;
}

/** `prompt` / `input`: one text as a string, several as a list; token ids likewise. */
function textsOrTokens(
  texts: string[] | undefined,
  tokens: TokenIds__Output[] | undefined,
  field: string,
): unknown {
  const t = texts ?? [];
  const ids = tokens ?? [];
  if (t.length > 0 && ids.length > 0) {
    throw new GatewayError("invalid_request", `Set either '${field}' or '${field}_token_ids', not both.`, {
      param: field,
    });
  }
  if (t.length > 0) return t.length === 1 ? t[0] : t;
  if (ids.length > 0) return ids.length === 1 ? (ids[0]!.ids ?? []) : ids.map((x) => x.ids ?? []);
  return undefined;
}

export function completionBody(r: CompletionRequest__Output): Body {
  const out = base(r.extra);
  samplingInto(out, r);
  put(out, "prompt", textsOrTokens(r.prompt, r.prompt_token_ids, "prompt"));
  put(out, "logprobs", r.logprobs);
  put(out, "echo", r.echo);
  put(out, "best_of", r.best_of);
  put(out, "suffix", r.suffix);
  return out;
}

export function embedBody(r: EmbedRequest__Output): Body {
  const out = base(r.extra);
  put(out, "model", r.model);
  put(out, "input", textsOrTokens(r.input, r.input_token_ids, "input"));
  put(out, "dimensions", r.dimensions);
  put(out, "user", r.user);
  return out;
}
