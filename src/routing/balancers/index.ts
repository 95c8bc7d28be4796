import type { Endpoint } from "../endpoint.js";

/** Picks the endpoint for one attempt. Balancers see only the endpoints that may take traffic. */
export interface Balancer {
  pick(endpoints: readonly Endpoint[]): Endpoint | undefined;
}

/** Round robin over the endpoints, preferring ones not known to be unreachable. */
export class RoundRobinBalancer implements Balancer {
  private next = 0;

  pick(endpoints: readonly Endpoint[]): Endpoint | undefined {
    const n = endpoints.length;
    if (n === 0) return undefined;
    for (let i = 0; i < n; i++) {
      const ep = endpoints[(this.next + i) % n] as Endpoint;
      if (ep.healthy) {
        this.next = (this.next + i + 1) % n;
        return ep;
      }
    }
    // Every endpoint failed last time: try one anyway, it may have come back.
    const ep = endpoints[this.next % n] as Endpoint;
    this.next = (this.next + 1) % n;
    return ep;
  }
}

export function createBalancer(kind: "round_robin"): Balancer {
  switch (kind) {
    case "round_robin":
      return new RoundRobinBalancer();
  }
}
