/**
 * Reading OpenAI-shaped JSON into `switchyard.v1` messages, for both directions that need it: a
 * request body's chat messages (the switchyard-grpc backend) and an upstream answer's (the gRPC
 * front door). Fields a message does not model travel in its `extra`.
 */
import type { ChatMessage } from "./generated/switchyard/v1/ChatMessage.js";
import type { ToolCall } from "./generated/switchyard/v1/ToolCall.js";
import { extraOf } from "./struct.js";

export type Obj = Record<string, unknown>;

export const known = (...names: string[]): ReadonlySet<string> => new Set(names);
/** The fields of a chat message (and of a streamed delta) that have fields of their own. */
export const MESSAGE = known("role", "content", "name", "tool_calls", "tool_call_id", "refusal");
const PART = known("type", "text", "image_url");

export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
export const num = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;
export const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
/** The objects of a JSON array (anything else in it counts as `{}`); `[]` for a non-array. */
export const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.map((x) => obj(x) ?? {}) : []);

/** `tool_calls` of a message or delta; a call without `type` gets `defaultType`. */
export function toolCallsOf(v: unknown, defaultType: string): ToolCall[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return objs(v).map((c) => {
    const f = obj(c.function);
    return {
      index: num(c.index),
      id: str(c.id) ?? "",
      type: str(c.type) ?? defaultType,
      function: f ? { name: str(f.name) ?? "", arguments: str(f.arguments) ?? "" } : undefined,
    };
  });
}

/** A chat message: text content or content parts; tool calls without `type` get `toolCallType`. */
export function chatMessageOf(m: Obj, toolCallType: string): ChatMessage {
  const out: ChatMessage = {
    role: str(m.role) ?? "",
    name: str(m.name),
    tool_calls: toolCallsOf(m.tool_calls, toolCallType),
    tool_call_id: str(m.tool_call_id),
    refusal: str(m.refusal),
    extra: extraOf(m, MESSAGE),
  };
  if (typeof m.content === "string") out.content = m.content;
  else if (Array.isArray(m.content)) {
    out.parts = {
      parts: objs(m.content).map((p) => {
        const img = obj(p.image_url);
        return {
          type: str(p.type) ?? "",
          text: str(p.text),
          image_url: img && { url: str(img.url) ?? "", detail: str(img.detail) },
          extra: extraOf(p, PART),
        };
      }),
    };
  }
  return out;
}
