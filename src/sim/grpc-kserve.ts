import type { ServerUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { requestFromProto, responseToProto } from "../backends/kserve-codec.js";
import type { InferRequest } from "../backends/kserve-tensors.js";
import type { GRPCInferenceServiceHandlers } from "../grpc/generated/kserve/inference/GRPCInferenceService.js";
import type { ModelInferRequest__Output } from "../grpc/generated/kserve/inference/ModelInferRequest.js";
import type { ModelInferResponse } from "../grpc/generated/kserve/inference/ModelInferResponse.js";
import { grpcError, resetError, type SimGrpcTracking, track } from "./grpc-common.js";
import type { SimTensorModel } from "./kserve-model.js";

/**
 * `inference.GRPCInferenceService` (KServe v2 gRPC) over the sim's tensor models. ModelInfer answers
 * in the form it was asked in: raw outputs for raw inputs, typed contents for typed ones.
 */
export function kserveHandlers(
  tensors: ReadonlyMap<string, SimTensorModel>,
  t: SimGrpcTracking,
): GRPCInferenceServiceHandlers {
  const find = (name: string, version: string) => {
    const m = tensors.get(name);
    return m?.hasVersion(version) ? m : undefined;
  };
  const unknown = (name: string) => grpcError(404, `unknown model '${name}'`);
  return {
    ServerLive: (_call, cb) => cb(null, { live: true }),
    ServerReady: (_call, cb) => cb(null, { ready: true }),
    ServerMetadata: (_call, cb) => cb(null, { name: "switchyard-sim", version: "1", extensions: [] }),
    ModelReady: (call, cb) => {
      const m = find(call.request.name, call.request.version);
      if (m) cb(null, { ready: true });
      else cb(unknown(call.request.name));
    },
    ModelMetadata: (call, cb) => {
      const m = find(call.request.name, call.request.version);
      if (m) cb(null, m.metadata());
      else cb(unknown(call.request.name));
    },
    ModelInfer: (call, cb) => modelInfer(find, t, call, cb),
  };
}

function modelInfer(
  find: (name: string, version: string) => SimTensorModel | undefined,
  t: SimGrpcTracking,
  call: ServerUnaryCall<ModelInferRequest__Output, ModelInferResponse>,
  cb: sendUnaryData<ModelInferResponse>,
): void {
  const tracked = track(t, call);
  const fail = (httpStatus: number, message: string, retryAfter?: number) => {
    tracked.end(String(httpStatus));
    cb(grpcError(httpStatus, message, retryAfter));
  };
  const msg = call.request;
  const model = find(msg.model_name, msg.model_version);
  if (!model) {
    fail(404, `unknown model '${msg.model_name}'`);
    return;
  }
  let req: InferRequest;
  try {
    req = requestFromProto(msg);
  } catch (err) {
    fail(400, (err as Error).message);
    return;
  }
  const raw = msg.raw_input_contents.length > 0;
  model.infer(
    { req, fault: tracked.fault, attempt: tracked.attempt?.number ?? 1, signal: tracked.signal },
    {
      ok: (res) => {
        tracked.end("200");
        cb(null, responseToProto(res, raw));
      },
      fail,
      reset: () => {
        tracked.end("reset");
        cb(resetError());
      },
    },
  );
}
