import type { RouteRequest } from "../../core/types.js";
import type { Endpoint } from "../endpoint.js";

/**
 * Picks the endpoint for one attempt among candidates that may all take traffic now (the pool has
 * already left out unavailable endpoints and, when it can, those this request tried). `req` is the
 * request being routed, for balancers that key on it (affinity).
 */
export interface Balancer {
  pick(candidates: readonly Endpoint[], req?: RouteRequest): Endpoint | undefined;
}
