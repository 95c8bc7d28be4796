/** Shared types of the request path: what a front door hands the router and what it gets back. */

/** `infer` is a KServe v2 (Open Inference Protocol) tensor inference call. */
export type Operation = "chat" | "completion" | "embedding" | "infer";

/**
 * The kind of model a pool serves: chat models serve chat and completions, embedding models
 * embeddings, kserve models tensor inference.
 */
export type ModelType = "chat" | "embedding" | "kserve";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A request as the router sees it: already validated, with the original bytes kept for pass-through. */
export interface RouteRequest {
  op: Operation;
  /** The public model name the client asked for. */
  model: string;
  /** The parsed body; unknown fields are kept untouched. */
  body: Record<string, unknown>;
  /** The body exactly as the client sent it, forwarded as-is when nothing needs to change. */
  raw?: Buffer;
  stream: boolean;
  /** Whether the client asked for the usage chunk at the end of a stream. */
  clientWantsStreamUsage: boolean;
  /** Admission priority class: `high`, `default` or `low`. */
  priority?: string;
  /** Client headers allowed through to the upstream by `server.forwardHeaders`. */
  forwardHeaders?: Record<string, string>;
  /** Overrides of the model's retry policy for this request (a pipeline step's `retry`). */
  retry?: RetryOverride;
}

/** Fields of a model's `retry` policy that one request may override; the rest keep the model's values. */
export interface RetryOverride {
  readonly maxAttempts?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** Error classes retried (`unavailable`, `timeout`, `server_error`, `rate_limited`, …). */
  readonly on?: readonly string[];
}

/** One Server-Sent Event's data, without the `data: ` framing. */
export type SseData = string;

/** A finished non-streaming answer. `payload` is the JSON text sent to the client as-is. */
export interface JsonResult {
  kind: "json";
  payload: Buffer | string;
  usage: Usage | undefined;
  endpoint: string;
}

/**
 * A streaming answer. `events` yields the data of each SSE event (never `[DONE]`; the iterator
 * ends instead). It throws a GatewayError when the upstream breaks off, times out or sends garbage.
 */
export interface StreamResult {
  kind: "stream";
  events: AsyncIterable<SseData>;
  /** Usage as reported by the upstream's final usage chunk, known once `events` is done. */
  usage(): Usage | undefined;
  endpoint: string;
  /** Ends the stream without reading it (releases the upstream connection and every slot it holds). */
  discard(): void;
}

export type RouteResult = JsonResult | StreamResult;
