import type { OpenAIEndpointConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import { Pool } from "../core/http-client.js";
import type { Operation, Usage } from "../core/types.js";
import { cancellationOf } from "./cancel.js";
import { exchangeBody, exchangeEvents, mapTransportError, type UpstreamAnswer } from "./exchange.js";
import type { Backend, UpstreamCall, UpstreamJson, UpstreamStream } from "./types.js";
import { parseRetryAfter, upstreamStatusError } from "./upstream-errors.js";
import { extractUsage } from "./usage.js";

export { mapTransportError } from "./exchange.js";

const PATHS: Record<Exclude<Operation, "infer">, string> = {
  chat: "/chat/completions",
  completion: "/completions",
  embedding: "/embeddings",
};

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
    const res = await exchangeBody(this.pool, this.request(call), this.label, cancellationOf(call));
    const text = res.body.toString("utf8");
    if (res.status >= 400) throw this.statusError(res, text);
    const usage = usageOfJson(text);
    if (usage === false) {
      throw new GatewayError("upstream_bad_response", `upstream ${this.label} sent a body that is not JSON`);
    }
    return { payload: text, usage };
  }

  async stream(call: UpstreamCall): Promise<UpstreamStream> {
    const events = await exchangeEvents(this.pool, this.request(call), this.label, cancellationOf(call));
    return { events };
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

  private statusError(res: UpstreamAnswer, text: string): GatewayError {
    return upstreamStatusError(res.status, text, this.label, parseRetryAfter(res.headers["retry-after"]));
  }

  /** The upstream request of a call: the client's bytes when nothing changed, else the re-serialised body. */
  private request(call: UpstreamCall) {
    // Tensor inference goes to kserve-v2 endpoints only (the config refuses anything else).
    if (call.op === "infer")
      throw new GatewayError("upstream_rejected", "an openai endpoint does not serve tensor inference", {
        status: 400,
      });
    return {
      method: "POST" as const,
      path: this.basePath + PATHS[call.op],
      headers: { ...this.baseHeaders, ...call.headers },
      body: call.raw ?? JSON.stringify(call.body),
    };
  }
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
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

export type { Usage };
