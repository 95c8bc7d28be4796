import type { EndpointConfig } from "../../config/schema.js";
import { DnsDiscovery, type DnsDiscoveryConfig } from "./dns.js";
import { FileDiscovery, type FileDiscoveryConfig } from "./file.js";

/**
 * A source of endpoints for a pool. `start` reports the first list (or the first failure) before it
 * resolves, then every change; a failure never empties the pool (the last good list stays).
 */
export interface Discovery {
  start(onChange: (endpoints: EndpointConfig[]) => void, onError: (err: Error) => void): Promise<void>;
  stop(): void;
}

export type DiscoveryConfig = DnsDiscoveryConfig | FileDiscoveryConfig;

export function createDiscovery(cfg: DiscoveryConfig): Discovery {
  switch (cfg.kind) {
    case "dns":
      return new DnsDiscovery(cfg);
    case "file":
      return new FileDiscovery(cfg);
  }
}
