import type { Endpoint } from "../endpoint.js";
import { AffinityBalancer } from "./affinity.js";
import type { BalancerConfig } from "./config.js";
import { LeastOutstandingBalancer, P2cEwmaBalancer } from "./p2c.js";
import type { Balancer } from "./types.js";
import { WeightedBalancer } from "./weighted.js";

export type { Balancer } from "./types.js";

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

export function createBalancer(
  cfg: BalancerConfig | "round_robin",
  random: () => number = Math.random,
): Balancer {
  const c: BalancerConfig = typeof cfg === "string" ? { kind: cfg } : cfg;
  switch (c.kind) {
    case "round_robin":
      return new RoundRobinBalancer();
    case "weighted":
      return new WeightedBalancer();
    case "least_outstanding":
      return new LeastOutstandingBalancer(c.choices, random);
    case "p2c_ewma":
      return new P2cEwmaBalancer(c.decayMs, random);
    case "affinity":
      return new AffinityBalancer(c, random);
  }
}

export type { BalancerConfig } from "./config.js";
