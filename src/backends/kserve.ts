import type { KServeEndpointConfig } from "../config/schema.js";
import { KServeGrpcBackend } from "./kserve-grpc.js";
import { KServeHttpBackend } from "./kserve-http.js";
import type { KServeBackend } from "./kserve-shared.js";

export { isKServeBackend, type KServeBackend } from "./kserve-shared.js";

/** Builds the `kserve-v2` backend of an endpoint: HTTP/JSON or gRPC, as its `protocol` says. */
export function createKServeBackend(cfg: KServeEndpointConfig, model: string): KServeBackend {
  return cfg.protocol === "grpc" ? new KServeGrpcBackend(cfg, model) : new KServeHttpBackend(cfg, model);
}
