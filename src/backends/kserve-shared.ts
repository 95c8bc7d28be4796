import type { KServeEndpointConfig } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import { type InferRequest, type ModelMetadata, parseInferRequest, TensorError } from "./kserve-tensors.js";
import type { Backend, UpstreamCall, UpstreamStream } from "./types.js";

/**
 * The `kserve-v2` backend: a KServe v2 / Open Inference Protocol server (Triton, KServe, MLServer,
 * OpenVINO Model Server) reached over HTTP/JSON or gRPC. It serves the `infer` operation only.
 */
export interface KServeBackend extends Backend {
  readonly kind: "kserve-v2";
  /** The upstream's metadata of the endpoint's model (name, versions, platform, inputs, outputs). */
  modelMetadata(signal: AbortSignal): Promise<ModelMetadata>;
}

export function isKServeBackend(b: Backend): b is KServeBackend {
  return b.kind === "kserve-v2";
}

/** The model name the upstream knows: the endpoint's `model`, else the public name of the call. */
export function upstreamModelOf(cfg: KServeEndpointConfig, call: UpstreamCall, fallback: string): string {
  if (cfg.model) return cfg.model;
  const m = call.body.model;
  return typeof m === "string" && m !== "" ? m : fallback;
}

/** Path of a model under `/v2`, with its version when one is configured. */
export function modelPath(model: string, version: string | undefined): string {
  const base = `/v2/models/${encodeURIComponent(model)}`;
  return version ? `${base}/versions/${encodeURIComponent(version)}` : base;
}

/** Only `infer` reaches a kserve-v2 endpoint (the config keeps other operations away). */
export function checkInferCall(call: UpstreamCall, label: string): void {
  if (call.op !== "infer")
    throw new GatewayError("upstream_rejected", `kserve-v2 endpoint ${label} serves tensor inference only`, {
      status: 400,
    });
}

/** The call's body as a checked inference request (without the gateway's `model` field). */
export function inferRequestOf(call: UpstreamCall): InferRequest {
  const { model: _model, stream_options: _so, ...rest } = call.body;
  try {
    return parseInferRequest(rest);
  } catch (err) {
    throw err instanceof TensorError ? err.toGatewayError() : err;
  }
}

/** Tensor inference has no streaming form. */
export function noStream(label: string): Promise<UpstreamStream> {
  return Promise.reject(
    new GatewayError("upstream_rejected", `kserve-v2 endpoint ${label} does not stream`, { status: 400 }),
  );
}
