import type { Endpoint } from "../endpoint.js";

/** Picks the endpoint for one attempt among candidates that may all take traffic now. */
export interface Balancer {
  pick(candidates: readonly Endpoint[]): Endpoint | undefined;
}

/** Round robin over the candidates. */
export class RoundRobinBalancer implements Balancer {
  private next = 0;

  pick(candidates: readonly Endpoint[]): Endpoint | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const ep = candidates[this.next % n] as Endpoint;
    this.next = (this.next + 1) % 1_000_000_007;
    return ep;
  }
}

export function createBalancer(kind: "round_robin"): Balancer {
  switch (kind) {
    case "round_robin":
      return new RoundRobinBalancer();
  }
}
