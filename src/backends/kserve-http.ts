import type { KServeEndpointConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import { Pool } from "../core/http-client.js";
import type { KServeBackend } from "./kserve-shared.js";
import { checkInferCall, inferRequestOf, modelPath, noStream, upstreamModelOf } from "./kserve-shared.js";
import type { ModelMetadata } from "./kserve-tensors.js";
import { mapTransportError, usageOfJson } from "./openai.js";
import type { UpstreamCall, UpstreamJson, UpstreamStream } from "./types.js";
import { parseRetryAfter, upstreamStatusError } from "./upstream-errors.js";

/** Largest answer read from an upstream. */
const MAX_BODY = 64 * 1024 * 1024;

type Res = Awaited<ReturnType<Pool["request"]>>;

/** KServe v2 over HTTP/JSON: `POST {url}/v2/models/{model}/infer`, readiness from `/ready`. */
export class KServeHttpBackend implements KServeBackend {
  readonly kind = "kserve-v2" as const;
  readonly label: string;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly cfg: KServeEndpointConfig,
    private readonly publicModel: string,
  ) {
    const url = new URL(cfg.url as string);
    this.label = cfg.id ?? `kserve:${url.host}`;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.pool = new Pool(url.origin, {
      connections: cfg.maxConnections,
      connectTimeout: cfg.connectTimeoutMs,
      headersTimeout: cfg.timeoutMs,
      bodyTimeout: cfg.timeoutMs,
      keepAliveTimeout: 60_000,
    });
    this.headers = {};
    for (const [k, v] of Object.entries(cfg.headers)) this.headers[k.toLowerCase()] = v;
  }

  async invoke(call: UpstreamCall): Promise<UpstreamJson> {
    checkInferCall(call, this.label);
    const model = upstreamModelOf(this.cfg, call, this.publicModel);
    // The client's bytes go through untouched when the route kept them; else the checked body.
    const body = call.raw ?? JSON.stringify(inferRequestOf(call));
    const res = await this.request(
      "POST",
      `${modelPath(model, this.cfg.modelVersion)}/infer`,
      { "content-type": "application/json", ...call.headers },
      call.signal,
      body,
    );
    const text = await this.read(res, call.signal);
    if (res.statusCode >= 400)
      throw upstreamStatusError(
        res.statusCode,
        text,
        this.label,
        parseRetryAfter(res.headers["retry-after"]),
      );
    if (usageOfJson(text) === false)
      throw new GatewayError("upstream_bad_response", `upstream ${this.label} sent a body that is not JSON`);
    return { payload: text, usage: undefined };
  }

  stream(): Promise<UpstreamStream> {
    return noStream(this.label);
  }

  /** Model (or server) readiness; the health check's `path` does not apply to KServe endpoints. */
  async probe(_path: string, signal: AbortSignal): Promise<void> {
    const path =
      this.cfg.readiness === "server"
        ? "/v2/health/ready"
        : `${modelPath(this.cfg.model ?? this.publicModel, this.cfg.modelVersion)}/ready`;
    const res = await this.request("GET", path, {}, signal);
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`);
  }

  async modelMetadata(signal: AbortSignal): Promise<ModelMetadata> {
    const res = await this.request(
      "GET",
      modelPath(this.cfg.model ?? this.publicModel, this.cfg.modelVersion),
      {},
      signal,
    );
    const text = await this.read(res, signal);
    if (res.statusCode >= 400) throw upstreamStatusError(res.statusCode, text, this.label);
    try {
      return JSON.parse(text) as ModelMetadata;
    } catch {
      throw new GatewayError(
        "upstream_bad_response",
        `upstream ${this.label} sent metadata that is not JSON`,
      );
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async request(
    method: "GET" | "POST",
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal,
    body?: string | Buffer,
  ): Promise<Res> {
    try {
      return await this.pool.request({
        method,
        path: this.basePath + path,
        headers: { ...this.headers, ...headers },
        body,
        signal,
      });
    } catch (err) {
      throw mapTransportError(err, this.label, signal);
    }
  }

  private async read(res: Res, signal: AbortSignal): Promise<string> {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY) {
          res.body.destroy();
          throw new GatewayError("upstream_bad_response", `upstream ${this.label} sent a body over 64 MiB`);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString("utf8");
    } catch (err) {
      throw mapTransportError(err, this.label, signal);
    }
  }
}
