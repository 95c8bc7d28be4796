/**
 * A step's output, the shape templates read as `steps.NAME.output`: for chat and completion
 * `{text, finish_reason, json, usage}` (chat adds `message`), for embeddings `{embedding,
 * embeddings, usage}`, for KServe v2 inference the response as the server sent it.
 */
import { extractUsage } from "../backends/usage.js";
import { GatewayError } from "../core/errors.js";
import type { Operation, Usage } from "../core/types.js";
import type { Value } from "./evaluate.js";

/** Text longer than this is not tried as JSON for `output.json`. */
const MAX_JSON_TEXT = 256 * 1024;

type Obj = Record<string, unknown>;

function asObj(v: unknown): Obj | undefined {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** `text` parsed as JSON when it is a JSON object or array (a model asked to answer in JSON), else null. */
export function jsonOf(text: string): Value {
  const t = text.trim();
  if (t.length > MAX_JSON_TEXT || !(t.startsWith("{") || t.startsWith("["))) return null;
  try {
    return JSON.parse(t) as Value;
  } catch {
    return null;
  }
}

function usageValue(u: Usage | undefined): Value {
  return u ? { ...u } : null;
}

function textOutput(
  op: Operation,
  text: string,
  finish: unknown,
  usage: Usage | undefined,
  message?: Obj,
): Value {
  const out: Record<string, Value> = {
    text,
    finish_reason: typeof finish === "string" ? finish : null,
    json: jsonOf(text),
    usage: usageValue(usage),
  };
  if (op === "chat") out.message = (message ?? { role: "assistant", content: text }) as Value;
  return out;
}

/** The output of a finished JSON answer; throws `upstream_bad_response` when it lacks what the call returns. */
export function outputOf(op: Operation, parsed: unknown): { output: Value; usage: Usage | undefined } {
  const body = asObj(parsed);
  if (!body) throw new GatewayError("upstream_bad_response", "the upstream's answer is not a JSON object");
  const usage = extractUsage(body);
  if (op === "infer") return { output: body as Value, usage };
  if (op === "embedding") {
    const data = Array.isArray(body.data) ? body.data : [];
    const embeddings = data.map((d) => (asObj(d)?.embedding ?? null) as Value);
    return { output: { embedding: embeddings[0] ?? null, embeddings, usage: usageValue(usage) }, usage };
  }
  const choice = asObj(Array.isArray(body.choices) ? body.choices[0] : undefined);
  if (!choice) throw new GatewayError("upstream_bad_response", "the upstream's answer has no choices");
  if (op === "completion") {
    const text = typeof choice.text === "string" ? choice.text : "";
    return { output: textOutput(op, text, choice.finish_reason, usage), usage };
  }
  const message = asObj(choice.message);
  const text = typeof message?.content === "string" ? message.content : "";
  return { output: textOutput(op, text, choice.finish_reason, usage, message), usage };
}

/** Collects a streamed chat or completion answer, chunk by chunk, into the same output. */
export class StreamCollector {
  private text = "";
  private finish: unknown = null;
  private usage: Usage | undefined;

  constructor(private readonly op: Operation) {}

  /** Takes one SSE data payload; returns the text it adds (empty when none). */
  push(data: string): string {
    let chunk: Obj | undefined;
    try {
      chunk = asObj(JSON.parse(data));
    } catch {
      throw new GatewayError("upstream_bad_response", "a streamed event is not JSON");
    }
    if (!chunk) return "";
    this.usage = extractUsage(chunk) ?? this.usage;
    const choice = asObj(Array.isArray(chunk.choices) ? chunk.choices[0] : undefined);
    if (!choice) return "";
    if (typeof choice.finish_reason === "string") this.finish = choice.finish_reason;
    const piece = this.op === "chat" ? asObj(choice.delta)?.content : choice.text;
    if (typeof piece !== "string" || piece === "") return "";
    this.text += piece;
    return piece;
  }

  result(usage: Usage | undefined): { output: Value; usage: Usage | undefined } {
    const u = this.usage ?? usage;
    return { output: textOutput(this.op, this.text, this.finish, u), usage: u };
  }
}
