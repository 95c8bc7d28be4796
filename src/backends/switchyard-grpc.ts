import * as grpc from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import type { SwitchyardGrpcEndpointConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import type { ChatChunk__Output } from "../grpc/generated/switchyard/v1/ChatChunk.js";
import type { ChatRequest } from "../grpc/generated/switchyard/v1/ChatRequest.js";
import type { ChatResponse__Output } from "../grpc/generated/switchyard/v1/ChatResponse.js";
import type { CompletionRequest } from "../grpc/generated/switchyard/v1/CompletionRequest.js";
import type { CompletionResponse__Output } from "../grpc/generated/switchyard/v1/CompletionResponse.js";
import type { EmbedRequest } from "../grpc/generated/switchyard/v1/EmbedRequest.js";
import type { EmbedResponse__Output } from "../grpc/generated/switchyard/v1/EmbedResponse.js";
import type { InferenceClient } from "../grpc/generated/switchyard/v1/Inference.js";
import { switchyardPackage } from "../grpc/protos.js";
import { ChannelPool, callMetadata, grpcUpstreamError, unaryCall } from "./switchyard-grpc-channel.js";
import {
  chatChunkJson,
  chatJson,
  chatRequest,
  completionJson,
  completionRequest,
  embedJson,
  embedRequest,
  usageJson,
} from "./switchyard-grpc-convert.js";
import type { Backend, UpstreamCall, UpstreamJson, UpstreamStream } from "./types.js";
import { extractUsage } from "./usage.js";

type InferenceCtor = new (
  target: string,
  creds: grpc.ChannelCredentials,
  opts: grpc.ChannelOptions,
) => InferenceClient;

let ctor: InferenceCtor | undefined;
function inferenceClient(): InferenceCtor {
  const pkg = grpc.loadPackageDefinition(switchyardPackage()) as unknown as {
    switchyard: { v1: { Inference: InferenceCtor } };
  };
  ctor ??= pkg.switchyard.v1.Inference;
  return ctor;
}

const HealthClient = grpc.makeClientConstructor(
  healthService as grpc.ServiceDefinition,
  "grpc.health.v1.Health",
);
type HealthCheck = (
  req: { service: string },
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: { status?: string | number }) => void,
) => grpc.ClientUnaryCall;

/**
 * Another Switchyard, or any service implementing `switchyard.v1.Inference`: Chat, ChatStream,
 * Complete and Embed over a few long-lived HTTP/2 channels. Streamed chat chunks become the same
 * SSE events an OpenAI-compatible upstream sends; health comes from `grpc.health.v1` when offered.
 */
export class SwitchyardGrpcBackend implements Backend {
  readonly kind = "switchyard-grpc";
  readonly label: string;
  private readonly pool: ChannelPool<InferenceClient>;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly cfg: SwitchyardGrpcEndpointConfig,
    private readonly publicModel: string,
  ) {
    this.label = cfg.id ?? `switchyard-grpc:${cfg.target}`;
    this.pool = new ChannelPool(inferenceClient(), cfg.target, cfg);
    this.headers = { ...cfg.headers };
    if (cfg.apiKey) this.headers.authorization = `Bearer ${cfg.apiKey}`;
  }

  async invoke(call: UpstreamCall): Promise<UpstreamJson> {
    const model = this.modelOf(call);
    const client = this.pool.next();
    const md = callMetadata(this.headers, call.headers);
    const go = <Req, Res>(method: Parameters<typeof unaryCall<Req, Res>>[0], req: Req) =>
      unaryCall<Req, Res>(method, req, md, call.signal, this.cfg.timeoutMs, this.label);
    let json: Record<string, unknown>;
    if (call.op === "chat") {
      json = chatJson(
        await go<ChatRequest, ChatResponse__Output>(client.Chat.bind(client), chatRequest(call.body, model)),
      );
    } else if (call.op === "completion") {
      const req = completionRequest(call.body, model);
      json = completionJson(
        await go<CompletionRequest, CompletionResponse__Output>(client.Complete.bind(client), req),
      );
    } else if (call.op === "embedding") {
      const res = await go<EmbedRequest, EmbedResponse__Output>(
        client.Embed.bind(client),
        embedRequest(call.body, model),
      );
      json = embedJson(res, call.body.encoding_format);
    } else {
      throw new GatewayError(
        "upstream_rejected",
        `switchyard-grpc endpoint ${this.label} does not serve ${call.op}`,
        {
          status: 400,
        },
      );
    }
    return { payload: JSON.stringify(json), usage: extractUsage(json) };
  }

  async stream(call: UpstreamCall): Promise<UpstreamStream> {
    if (call.op === "completion") return this.completionAsStream(call);
    if (call.op !== "chat")
      throw new GatewayError("upstream_rejected", `${call.op} cannot be streamed`, { status: 400 });
    const client = this.pool.next();
    const req = chatRequest(call.body, this.modelOf(call));
    const md = callMetadata(this.headers, call.headers);
    if (call.signal.aborted) throw grpcUpstreamError({}, this.label, call.signal);
    const stream = client.ChatStream(req, md, { deadline: Date.now() + this.cfg.timeoutMs });
    return { events: chunkEvents(stream, this.label, call.signal) };
  }

  /** Completions have no streaming RPC: the whole answer arrives as one chunk, then the usage chunk. */
  private async completionAsStream(call: UpstreamCall): Promise<UpstreamStream> {
    const res = await this.invoke({ ...call, op: "completion" });
    const json = JSON.parse(String(res.payload)) as Record<string, unknown>;
    const { usage, ...chunk } = json;
    const events = [JSON.stringify(chunk)];
    if (usage) events.push(JSON.stringify({ ...chunk, choices: [], usage }));
    return {
      events: (async function* () {
        yield* events;
      })(),
    };
  }

  /** `grpc.health.v1` Check of `healthService`; a server without it is healthy once a connection is up. */
  async probe(_path: string, signal: AbortSignal): Promise<void> {
    const client = this.pool.next();
    const health = new HealthClient(this.cfg.target, grpc.credentials.createInsecure(), {
      channelOverride: client.getChannel(),
    }) as unknown as { Check: HealthCheck };
    const md = callMetadata(this.headers);
    const res = await new Promise<{ status?: string | number } | "unimplemented">((resolve, reject) => {
      const deadline = Date.now() + this.cfg.connectTimeoutMs + 5_000;
      const onAbort = () => c.cancel();
      const c = health.Check({ service: this.cfg.healthService }, md, { deadline }, (err, r) => {
        signal.removeEventListener("abort", onAbort);
        if (err?.code === grpc.status.UNIMPLEMENTED) resolve("unimplemented");
        else if (err) reject(grpcUpstreamError(err, this.label, signal));
        else resolve(r ?? {});
      });
      signal.addEventListener("abort", onAbort, { once: true });
    });
    if (res === "unimplemented") return this.connected(client);
    if (res.status !== "SERVING" && res.status !== 1) throw new Error(`health status ${String(res.status)}`);
  }

  private connected(client: grpc.Client): Promise<void> {
    return new Promise((resolve, reject) => {
      client.waitForReady(Date.now() + this.cfg.connectTimeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  private modelOf(call: UpstreamCall): string {
    if (this.cfg.model) return this.cfg.model;
    return typeof call.body.model === "string" ? call.body.model : this.publicModel;
  }
}

/** The chunks of a ChatStream as SSE data; cancelled when the signal aborts or the reader stops. */
async function* chunkEvents(
  stream: grpc.ClientReadableStream<ChatChunk__Output>,
  label: string,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const onAbort = () => stream.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  let started = false;
  let ended = false;
  try {
    for await (const chunk of stream as AsyncIterable<ChatChunk__Output>) {
      started = true;
      const json = chatChunkJson(chunk);
      if (json.usage === undefined && chunk.usage) json.usage = usageJson(chunk.usage);
      yield JSON.stringify(json);
    }
    ended = true;
  } catch (err) {
    const e = grpcUpstreamError(err as grpc.ServiceError, label, signal);
    if (!started || signal.aborted) throw e;
    throw new GatewayError("stream_interrupted", `stream from upstream ${label} broke off: ${e.message}`, {
      cause: err,
    });
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (!ended) stream.cancel();
  }
}
