import { randomBytes } from "node:crypto";
import type { Usage } from "../core/types.js";
import { hash53, mulberry32 } from "./tokenizer.js";

/**
 * The OpenAI response objects of the sim, as JSON text. The HTTP server and the in-process adapter
 * both use these, so they produce the same bytes. Per-token chunks are built from a prefix and suffix
 * computed once per request.
 */

export type FinishReason = "stop" | "length";

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

let idBase = randomBytes(6).toString("hex");
let idCounter = 0;

export function responseMeta(op: "chat" | "completion", model: string): ResponseMeta {
  if (++idCounter >= 0x7fffffff) {
    idBase = randomBytes(6).toString("hex");
    idCounter = 0;
  }
  const prefix = op === "chat" ? "chatcmpl-" : "cmpl-";
  return {
    id: `${prefix}${idBase}${idCounter.toString(16).padStart(8, "0")}`,
    created: Math.floor(Date.now() / 1000),
    model,
  };
}

export function usageOf(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function head(meta: ResponseMeta, object: string): string {
  return `{"id":${JSON.stringify(meta.id)},"object":"${object}","created":${meta.created},"model":${JSON.stringify(meta.model)}`;
}

/** The stream chunks of one chat or completion request. */
export class ChunkWriter {
  private readonly prefix: string;

  constructor(
    private readonly op: "chat" | "completion",
    private readonly meta: ResponseMeta,
  ) {
    this.prefix = head(meta, op === "chat" ? "chat.completion.chunk" : "text_completion");
  }

  /** Chat only: the first chunk, carrying the role. */
  role(): string {
    return `${this.prefix},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`;
  }

  content(piece: string): string {
    const text = JSON.stringify(piece);
    if (this.op === "chat") {
      return `${this.prefix},"choices":[{"index":0,"delta":{"content":${text}},"logprobs":null,"finish_reason":null}]}`;
    }
    return `${this.prefix},"choices":[{"index":0,"text":${text},"logprobs":null,"finish_reason":null}]}`;
  }

  finish(reason: FinishReason): string {
    if (this.op === "chat") {
      return `${this.prefix},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"${reason}"}]}`;
    }
    return `${this.prefix},"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"${reason}"}]}`;
  }

  usage(usage: Usage): string {
    return `${this.prefix},"choices":[],"usage":${JSON.stringify(usage)}}`;
  }

  /** The whole non-stream answer. */
  complete(text: string, reason: FinishReason, usage: Usage): string {
    const { meta } = this;
    if (this.op === "chat") {
      return JSON.stringify({
        id: meta.id,
        object: "chat.completion",
        created: meta.created,
        model: meta.model,
        choices: [
          { index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: reason },
        ],
        usage,
      });
    }
    return JSON.stringify({
      id: meta.id,
      object: "text_completion",
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: reason }],
      usage,
    });
  }
}

/** A deterministic vector of length about 1 derived from the input's hash (same input, same vector). */
export function embeddingVector(input: string, dimensions: number): Float32Array {
  const rng = mulberry32(hash53(input) >>> 0);
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const x = rng() * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dimensions; i++) v[i] = v[i]! * scale;
  return v;
}

function encodeVector(v: Float32Array, encoding: "float" | "base64"): string {
  if (encoding === "base64")
    return JSON.stringify(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64"));
  const parts = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) parts[i] = String(Math.round(v[i]! * 1e7) / 1e7);
  return `[${parts.join(",")}]`;
}

/** The embeddings list answer. */
export function embeddingList(
  model: string,
  inputs: readonly string[],
  dimensions: number,
  encoding: "float" | "base64",
  promptTokens: number,
): string {
  const data = inputs.map(
    (input, index) =>
      `{"object":"embedding","index":${index},"embedding":${encodeVector(embeddingVector(input, dimensions), encoding)}}`,
  );
  const usage = JSON.stringify({ prompt_tokens: promptTokens, total_tokens: promptTokens });
  return `{"object":"list","data":[${data.join(",")}],"model":${JSON.stringify(model)},"usage":${usage}}`;
}
