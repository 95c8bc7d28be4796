import type { Readable } from "node:stream";
import { Pool } from "undici";
import type { OpenAIEndpointConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import type { Operation, Usage } from "../core/types.js";
import { SseParser } from "./sse.js";
import type { Backend, UpstreamCall, UpstreamJson, UpstreamStream } from "./types.js";
import { parseRetryAfter, upstreamStatusError } from "./upstream-errors.js";
import { extractUsage } from "./usage.js";

const PATHS: Record<Exclude<Operation, "infer">, string> = {
  chat: "/chat/completions",
  completion: "/completions",
  embedding: "/embeddings",
};

/** Largest error or JSON body read from an upstream (a runaway upstream cannot fill memory). */
const MAX_UPSTREAM_BODY = 64 * 1024 * 1024;

/** Any OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp, Ollama, hosted APIs) over one undici Pool. */
export class OpenAIBackend implements Backend {
  readonly kind = "openai";
  readonly label: string;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly baseHeaders: Record<string, string>;

  constructor(cfg: OpenAIEndpointConfig) {
    const url = new URL(cfg.url);
    this.label = cfg.id ?? `openai:${url.host}`;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      connections: cfg.maxConnections,
      connectTimeout: cfg.connectTimeoutMs,
      headersTimeout: cfg.headersTimeoutMs,
      bodyTimeout: cfg.bodyTimeoutMs,
      keepAliveTimeout: cfg.keepAliveTimeoutMs,
      keepAliveMaxTimeout: Math.max(cfg.keepAliveTimeoutMs, 600_000),
    });
    this.baseHeaders = { "content-type": "application/json", ...lowerKeys(cfg.headers) };
    if (cfg.apiKey) this.baseHeaders.authorization = `Bearer ${cfg.apiKey}`;
  }

  async invoke(call: UpstreamCall): Promise<UpstreamJson> {
    const res = await this.send(call);
    const text = await readBody(res.body, res.headers["content-length"], call.signal);
    if (res.statusCode >= 400) {
      throw upstreamStatusError(
        res.statusCode,
        text,
        this.label,
        parseRetryAfter(res.headers["retry-after"]),
      );
    }
    const usage = usageOfJson(text);
    if (usage === false) {
      throw new GatewayError("upstream_bad_response", `upstream ${this.label} sent a body that is not JSON`);
    }
    return { payload: text, usage };
  }

  async stream(call: UpstreamCall): Promise<UpstreamStream> {
    const res = await this.send(call);
    if (res.statusCode >= 400) {
      const text = await readBody(res.body, res.headers["content-length"], call.signal);
      throw upstreamStatusError(
        res.statusCode,
        text,
        this.label,
        parseRetryAfter(res.headers["retry-after"]),
      );
    }
    const ctype = String(res.headers["content-type"] ?? "");
    if (!ctype.includes("text/event-stream")) {
      res.body.destroy();
      throw new GatewayError(
        "upstream_bad_response",
        `upstream ${this.label} answered a stream request with ${ctype || "no content type"}`,
      );
    }
    return { events: sseEvents(res.body, this.label, call.signal) };
  }

  async probe(path: string, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = {};
    if (this.baseHeaders.authorization) headers.authorization = this.baseHeaders.authorization;
    try {
      const res = await this.pool.request({ method: "GET", path: this.basePath + path, headers, signal });
      await res.body.dump();
      if (res.statusCode >= 300) throw new Error(`health check answered ${res.statusCode}`);
    } catch (err) {
      throw mapTransportError(err, this.label, signal);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async send(call: UpstreamCall) {
    // Tensor inference goes to kserve-v2 endpoints only (the config refuses anything else).
    if (call.op === "infer")
      throw new GatewayError("upstream_rejected", "an openai endpoint does not serve tensor inference", {
        status: 400,
      });
    const body = call.raw ?? JSON.stringify(call.body);
    try {
      return await this.pool.request({
        method: "POST",
        path: this.basePath + PATHS[call.op],
        headers: { ...this.baseHeaders, ...call.headers },
        body,
        signal: call.signal,
      });
    } catch (err) {
      throw mapTransportError(err, this.label, call.signal);
    }
  }
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

/** Maps undici and socket failures to the gateway's codes; an aborted call keeps its abort reason. */
export function mapTransportError(err: unknown, label: string, signal: AbortSignal): GatewayError {
  if (signal.aborted && signal.reason instanceof GatewayError) return signal.reason;
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code ?? "";
  const msg = (err as Error).message ?? String(err);
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return new GatewayError("upstream_timeout", `connecting to upstream ${label} timed out`, {
        cause: err,
      });
    case "UND_ERR_HEADERS_TIMEOUT":
      return new GatewayError("upstream_timeout", `upstream ${label} sent no response headers in time`, {
        cause: err,
      });
    case "UND_ERR_BODY_TIMEOUT":
      return new GatewayError("upstream_timeout", `upstream ${label} stalled while sending the body`, {
        cause: err,
      });
    default:
      return new GatewayError("upstream_unavailable", `upstream ${label} unreachable: ${code || msg}`, {
        cause: err,
      });
  }
}

/**
 * Reads a whole upstream body. With a content length under the cap it is read in one go; without
 * one, chunk by chunk with the cap enforced as it grows.
 */
async function readBody(
  body: Readable & { text(): Promise<string> },
  length: unknown,
  signal: AbortSignal,
): Promise<string> {
  try {
    const declared = Number(length);
    if (length !== undefined && declared <= MAX_UPSTREAM_BODY) return await body.text();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > MAX_UPSTREAM_BODY) {
        body.destroy();
        throw new GatewayError("upstream_bad_response", "upstream body exceeds 64 MiB");
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  } catch (err) {
    throw mapTransportError(err, "body", signal);
  }
}

/** Bodies up to this size are fully parsed to check them; larger ones (embeddings) only have their usage read. */
const FULL_PARSE_LIMIT = 2 * 1024;

/**
 * The usage of a JSON answer, undefined when it has none, false when the text is not a JSON object.
 * Large answers are not parsed whole: their `usage` object (near the end) is cut out and parsed alone.
 */
export function usageOfJson(text: string): Usage | undefined | false {
  if (text.length <= FULL_PARSE_LIMIT) {
    try {
      return extractUsage(JSON.parse(text));
    } catch {
      return false;
    }
  }
  if (text.charCodeAt(0) !== 123 /* { */ || text.trimEnd().at(-1) !== "}") return false;
  const at = text.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  const open = text.indexOf("{", at);
  if (open < 0) return undefined;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 123) depth++;
    else if (c === 125 && --depth === 0) {
      try {
        return extractUsage({ usage: JSON.parse(text.slice(open, i + 1)) });
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

async function* sseEvents(body: Readable, label: string, signal: AbortSignal): AsyncGenerator<string> {
  const parser = new SseParser();
  try {
    for await (const chunk of body) {
      for (const data of parser.push(chunk as Buffer)) {
        if (data === "[DONE]") return;
        yield data;
      }
    }
  } catch (err) {
    if (signal.aborted) throw mapTransportError(err, label, signal);
    const mapped = mapTransportError(err, label, signal);
    throw new GatewayError(
      "stream_interrupted",
      `stream from upstream ${label} broke off: ${mapped.message}`,
      {
        cause: err,
      },
    );
  } finally {
    if (!body.destroyed) body.destroy();
  }
  throw new GatewayError("stream_interrupted", `stream from upstream ${label} ended without [DONE]`);
}

export type { Usage };
