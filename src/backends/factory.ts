import type { EndpointConfig } from "../config/schema.js";
import { createKServeBackend } from "./kserve.js";
import { OpenAIBackend } from "./openai.js";
import { createSimBackend } from "./sim.js";
import { SwitchyardGrpcBackend } from "./switchyard-grpc.js";
import type { Backend } from "./types.js";

/** Builds the adapter an endpoint's `kind` names. */
export function createBackend(cfg: EndpointConfig, model: string, index: number): Backend {
  switch (cfg.kind) {
    case "openai":
      return new OpenAIBackend(cfg);
    case "sim":
      return createSimBackend(cfg.sim, cfg.id ?? `sim:${model}#${index}`);
    case "kserve-v2":
      return createKServeBackend(cfg, model);
    case "switchyard-grpc":
      return new SwitchyardGrpcBackend(cfg, model);
  }
}
