import type { Endpoint } from "../endpoint.js";
import type { Balancer } from "./types.js";

/** Samples `d` distinct candidates at random (all of them when there are no more than `d`). */
function sample(candidates: readonly Endpoint[], d: number, random: () => number): readonly Endpoint[] {
  const n = candidates.length;
  if (n <= d) return candidates;
  if (d === 2) {
    const i = Math.floor(random() * n);
    const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
    return [candidates[i] as Endpoint, candidates[j] as Endpoint];
  }
  const pool = [...candidates];
  for (let k = 0; k < d; k++) {
    const r = k + Math.floor(random() * (n - k));
    [pool[k], pool[r]] = [pool[r] as Endpoint, pool[k] as Endpoint];
  }
  return pool.slice(0, d);
}

/** The lowest-cost endpoint of a sample; ties go to a random one of the tied (start offset). */
function cheapest(
  sampled: readonly Endpoint[],
  cost: (ep: Endpoint) => number,
  random: () => number,
): Endpoint | undefined {
  const n = sampled.length;
  if (n === 0) return undefined;
  const start = Math.floor(random() * n);
  let best: Endpoint | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let k = 0; k < n; k++) {
    const ep = sampled[(start + k) % n] as Endpoint;
    const c = cost(ep);
    if (best === undefined || c < bestCost) {
      best = ep;
      bestCost = c;
    }
  }
  return best;
}

/** Power of d choices over requests in flight (weights scale capacity: in-flight ÷ weight). */
export class LeastOutstandingBalancer implements Balancer {
  constructor(
    private readonly choices: number,
    private readonly random: () => number = Math.random,
  ) {}

  pick(candidates: readonly Endpoint[]): Endpoint | undefined {
    return cheapest(
      sample(candidates, this.choices, this.random),
      (ep) => ep.inFlight / ep.weight,
      this.random,
    );
  }
}

/**
 * Power of two choices over (in flight + 1) × peak EWMA latency — Finagle's and Linkerd's default.
 * The latency estimate decays with time (see `Endpoint.latencyEstimate`), so a replica that was slow
 * is tried again once its estimate has faded. An endpoint without samples costs nothing while idle
 * (so it gets its first request) and a large penalty while that request is out (so a burst does not
 * pile onto an endpoint nobody has measured).
 */
export class P2cEwmaBalancer implements Balancer {
  static readonly PENALTY_MS = 1e6;

  constructor(
    private readonly decayMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  pick(candidates: readonly Endpoint[], _req?: unknown, now = performance.now()): Endpoint | undefined {
    const cost = (ep: Endpoint): number => {
      const est = ep.latencyEstimate(now, this.decayMs);
      if (est === undefined) return ep.inFlight === 0 ? 0 : P2cEwmaBalancer.PENALTY_MS * ep.inFlight;
      return ((ep.inFlight + 1) * est) / ep.weight;
    };
    return cheapest(sample(candidates, 2, this.random), cost, this.random);
  }
}
