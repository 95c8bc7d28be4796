import type { Endpoint } from "../endpoint.js";
import type { Balancer } from "./types.js";

/**
 * Smooth weighted round robin (nginx): each pick adds every candidate's weight to its running score,
 * takes the highest score and subtracts the total from it. Weights 5:1:1 give a a b a c a a — the
 * exact shares over every cycle of sum(weights) picks, and no bursts on the heaviest endpoint.
 */
export class WeightedBalancer implements Balancer {
  private readonly current = new WeakMap<Endpoint, number>();

  pick(candidates: readonly Endpoint[]): Endpoint | undefined {
    let best: Endpoint | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const ep of candidates) {
      const score = (this.current.get(ep) ?? 0) + ep.weight;
      this.current.set(ep, score);
      total += ep.weight;
      if (score > bestScore) {
        best = ep;
        bestScore = score;
      }
    }
    if (best) this.current.set(best, bestScore - total);
    return best;
  }
}
