/**
 * OpenAI-shaped answers (JSON as the upstream sent it) → gRPC response messages. Fields the
 * messages do not model are kept in `extra`, so nothing the upstream said is lost.
 */
import { GatewayError } from "../core/errors.js";
import { chatMessageOf, known, MESSAGE, num, type Obj, obj, objs, str, toolCallsOf } from "./chat-message.js";
import type { ChatChunk } from "./generated/switchyard/v1/ChatChunk.js";
import type { ChatResponse } from "./generated/switchyard/v1/ChatResponse.js";
import type { CompletionResponse } from "./generated/switchyard/v1/CompletionResponse.js";
import type { EmbedResponse } from "./generated/switchyard/v1/EmbedResponse.js";
import type { Usage } from "./generated/switchyard/v1/Usage.js";
import { extraOf, toStruct } from "./struct.js";

const TOP = known("id", "object", "created", "model", "choices", "usage", "system_fingerprint");
const CHOICE = known("index", "message", "delta", "text", "finish_reason", "logprobs");
const USAGE = known("prompt_tokens", "completion_tokens", "total_tokens");
const EMBED_TOP = known("object", "model", "data", "usage");

const structOf = (v: unknown) => {
  const o = obj(v);
  return o ? toStruct(o) : undefined;
};

/** Parses an upstream's JSON answer; anything but an object is `upstream_bad_response`. */
export function parseAnswer(payload: Buffer | string): Obj {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof payload === "string" ? payload : payload.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const o = obj(parsed);
  if (!o) throw new GatewayError("upstream_bad_response", "The upstream's answer is not a JSON object.");
  return o;
}

export function usageMessage(v: unknown): Usage | undefined {
  const u = obj(v);
  if (!u) return undefined;
  return {
    prompt_tokens: num(u.prompt_tokens) ?? 0,
    completion_tokens: num(u.completion_tokens) ?? 0,
    total_tokens: num(u.total_tokens) ?? 0,
    extra: extraOf(u, USAGE),
  };
}

function header(j: Obj) {
  return {
    id: str(j.id) ?? "",
    object: str(j.object) ?? "",
    created: num(j.created) ?? 0,
    model: str(j.model) ?? "",
    usage: usageMessage(j.usage),
    system_fingerprint: str(j.system_fingerprint),
    extra: extraOf(j, TOP),
  };
}

function choiceCommon(c: Obj) {
  return {
    index: num(c.index) ?? 0,
    finish_reason: str(c.finish_reason) ?? "",
    logprobs: structOf(c.logprobs),
    extra: extraOf(c, CHOICE),
  };
}

/** Tool calls as the upstream sent them: one without a type keeps it empty. */
const toolCalls = (v: unknown) => toolCallsOf(v, "");

function messageOf(v: unknown) {
  const m = obj(v);
  return m && chatMessageOf(m, "");
}

export function chatResponse(j: Obj): ChatResponse {
  return {
    ...header(j),
    choices: objs(j.choices).map((c) => ({ ...choiceCommon(c), message: messageOf(c.message) })),
  };
}

export function chatChunk(j: Obj): ChatChunk {
  return {
    ...header(j),
    choices: objs(j.choices).map((c) => {
      const d = obj(c.delta) ?? {};
      return {
        ...choiceCommon(c),
        delta: {
          role: str(d.role),
          content: str(d.content),
          tool_calls: toolCalls(d.tool_calls),
          refusal: str(d.refusal),
          extra: extraOf(d, MESSAGE),
        },
      };
    }),
  };
}

export function completionResponse(j: Obj): CompletionResponse {
  return {
    ...header(j),
    choices: objs(j.choices).map((c) => ({ ...choiceCommon(c), text: str(c.text) ?? "" })),
  };
}

/** A vector as the upstream sent it: a list of numbers, or base64 of little-endian float32. */
function vector(v: unknown): number[] {
  if (Array.isArray(v)) return v.map((x) => (typeof x === "number" ? x : Number.NaN));
  if (typeof v === "string") {
    const buf = Buffer.from(v, "base64");
    const out = new Array<number>(buf.length >> 2);
    for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
    return out;
  }
  return [];
}

export function embedResponse(j: Obj): EmbedResponse {
  return {
    object: str(j.object) ?? "",
    model: str(j.model) ?? "",
    data: objs(j.data).map((d) => ({ index: num(d.index) ?? 0, embedding: vector(d.embedding) })),
    usage: usageMessage(j.usage),
    extra: extraOf(j, EMBED_TOP),
  };
}
