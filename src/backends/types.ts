import type { Operation, Usage } from "../core/types.js";

/** One call to one endpoint, built by the router. */
export interface UpstreamCall {
  op: Operation;
  /** Parsed body with the upstream model name and stream options already applied. */
  body: Record<string, unknown>;
  /** When set, the exact bytes to send (the client's body needed no change). */
  raw?: Buffer;
  stream: boolean;
  /** Headers to propagate upstream (traceparent, x-request-id). */
  headers: Record<string, string>;
  signal: AbortSignal;
  requestId: string;
}

export interface UpstreamJson {
  payload: Buffer | string;
  usage: Usage | undefined;
}

export interface UpstreamStream {
  /** Data of each SSE event, `[DONE]` excluded; ends cleanly only after `[DONE]`. */
  events: AsyncIterable<string>;
}

/** A model server behind the gateway. Each adapter owns its connections. */
export interface Backend {
  readonly kind: string;
  /** A short, stable label for logs and metrics, e.g. `openai:127.0.0.1:9000`. */
  readonly label: string;
  invoke(call: UpstreamCall): Promise<UpstreamJson>;
  stream(call: UpstreamCall): Promise<UpstreamStream>;
  /** A cheap liveness check that spends no tokens (GET `path` under the base URL); rejects when unhealthy. */
  probe?(path: string, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
