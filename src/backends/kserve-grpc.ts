import type { KServeEndpointConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import type { ProtoGrpcType } from "../grpc/generated/kserve/grpc_predict_v2.js";
import type { GRPCInferenceServiceClient } from "../grpc/generated/kserve/inference/GRPCInferenceService.js";
import type { ModelInferRequest } from "../grpc/generated/kserve/inference/ModelInferRequest.js";
import type { ModelInferResponse__Output } from "../grpc/generated/kserve/inference/ModelInferResponse.js";
import type { ModelMetadataRequest } from "../grpc/generated/kserve/inference/ModelMetadataRequest.js";
import type { ModelMetadataResponse__Output } from "../grpc/generated/kserve/inference/ModelMetadataResponse.js";
import type { ModelReadyRequest } from "../grpc/generated/kserve/inference/ModelReadyRequest.js";
import type { ModelReadyResponse__Output } from "../grpc/generated/kserve/inference/ModelReadyResponse.js";
import type { ServerReadyResponse__Output } from "../grpc/generated/kserve/inference/ServerReadyResponse.js";
import { requestToProto, responseFromProto } from "./kserve-codec.js";
import {
  checkInferCall,
  inferRequestOf,
  type KServeBackend,
  noStream,
  upstreamModelOf,
} from "./kserve-shared.js";
import { type ModelMetadata, TensorError } from "./kserve-tensors.js";
import { ChannelPool, callMetadata, loadProto, unaryCall } from "./switchyard-grpc-channel.js";
import type { UpstreamCall, UpstreamJson, UpstreamStream } from "./types.js";

let proto: ProtoGrpcType | undefined;

/** The KServe v2 gRPC service definition (`inference.GRPCInferenceService`), loaded once. */
export function kserveProto(): ProtoGrpcType {
  proto ??= loadProto("kserve/grpc_predict_v2.proto") as unknown as ProtoGrpcType;
  return proto;
}

/** KServe v2 over gRPC: ModelInfer with typed or raw tensors, readiness from ModelReady / ServerReady. */
export class KServeGrpcBackend implements KServeBackend {
  readonly kind = "kserve-v2" as const;
  readonly label: string;
  private readonly pool: ChannelPool<GRPCInferenceServiceClient>;

  constructor(
    private readonly cfg: KServeEndpointConfig,
    private readonly publicModel: string,
  ) {
    const target = cfg.target as string;
    this.label = cfg.id ?? `kserve-grpc:${target}`;
    this.pool = new ChannelPool(kserveProto().inference.GRPCInferenceService, target, cfg);
  }

  async invoke(call: UpstreamCall): Promise<UpstreamJson> {
    checkInferCall(call, this.label);
    const model = upstreamModelOf(this.cfg, call, this.publicModel);
    const msg = requestToProto(
      inferRequestOf(call),
      model,
      this.cfg.modelVersion,
      this.cfg.tensorEncoding === "raw",
    );
    const client = this.pool.next();
    const res = await unaryCall<ModelInferRequest, ModelInferResponse__Output>(
      client.ModelInfer.bind(client),
      msg,
      callMetadata(this.cfg.headers, call.headers),
      call.signal,
      this.cfg.timeoutMs,
      this.label,
    );
    try {
      return { payload: JSON.stringify(responseFromProto(res)), usage: undefined };
    } catch (err) {
      if (err instanceof TensorError)
        throw new GatewayError(
          "upstream_bad_response",
          `upstream ${this.label} sent tensors that do not add up: ${err.message}`,
        );
      throw err;
    }
  }

  stream(): Promise<UpstreamStream> {
    return noStream(this.label);
  }

  async probe(_path: string, signal: AbortSignal): Promise<void> {
    const client = this.pool.next();
    const md = callMetadata(this.cfg.headers);
    const timeout = this.cfg.timeoutMs;
    const ready =
      this.cfg.readiness === "server"
        ? (
            await unaryCall<object, ServerReadyResponse__Output>(
              client.ServerReady.bind(client),
              {},
              md,
              signal,
              timeout,
              this.label,
            )
          ).ready
        : (
            await unaryCall<ModelReadyRequest, ModelReadyResponse__Output>(
              client.ModelReady.bind(client),
              { name: this.cfg.model ?? this.publicModel, version: this.cfg.modelVersion ?? "" },
              md,
              signal,
              timeout,
              this.label,
            )
          ).ready;
    if (!ready) throw new Error(`${this.cfg.readiness} not ready`);
  }

  async modelMetadata(signal: AbortSignal): Promise<ModelMetadata> {
    const client = this.pool.next();
    const res = await unaryCall<ModelMetadataRequest, ModelMetadataResponse__Output>(
      client.ModelMetadata.bind(client),
      { name: this.cfg.model ?? this.publicModel, version: this.cfg.modelVersion ?? "" },
      callMetadata(this.cfg.headers),
      signal,
      this.cfg.timeoutMs,
      this.label,
    );
    return {
      name: res.name,
      versions: res.versions,
      platform: res.platform,
      inputs: res.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      outputs: res.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    };
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}
