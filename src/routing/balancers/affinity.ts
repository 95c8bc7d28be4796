import type { RouteRequest } from "../../core/types.js";
import type { Endpoint } from "../endpoint.js";
import type { AffinityKeyConfig, BalancerConfig } from "./config.js";
import { hash32 } from "./hash.js";
import { LeastOutstandingBalancer } from "./p2c.js";
import type { Balancer } from "./types.js";

type AffinityConfig = Extract<BalancerConfig, { kind: "affinity" }>;

/** A hash ring: sorted points, each owned by an endpoint. */
interface Ring {
  points: Uint32Array;
  owners: Endpoint[];
}

const MAX_RINGS = 8;

/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam; as in Google's and
 * HAProxy's balancers). The key's hash lands on a ring of virtual nodes; the request goes to the
 * first endpoint clockwise whose load (requests in flight) stays within
 * ceil((1 + ε) × (total load + 1) ÷ n) — so a hot key spills to the next endpoints on the ring
 * instead of overloading its owner, and no endpoint carries more than (1 + ε)× the mean.
 * A request without a key goes to the least loaded of two random candidates.
 */
export class AffinityBalancer implements Balancer {
  /** Rings per candidate set (a retry's set differs from the full pool), most recently used last. */
  private readonly rings = new Map<string, Ring>();
  private readonly fallback: LeastOutstandingBalancer;

  constructor(
    private readonly cfg: AffinityConfig,
    random: () => number = Math.random,
  ) {
    this.fallback = new LeastOutstandingBalancer(2, random);
  }

  pick(candidates: readonly Endpoint[], req?: RouteRequest): Endpoint | undefined {
    if (candidates.length <= 1) return candidates[0];
    const key = req ? affinityKey(this.cfg.key, req) : undefined;
    if (key === undefined) return this.fallback.pick(candidates);
    return this.pickByKey(candidates, key);
  }

  /** The bounded-load walk (exposed for tests). */
  pickByKey(candidates: readonly Endpoint[], key: string): Endpoint | undefined {
    const ring = this.ring(candidates);
    let total = 0;
    for (const ep of candidates) total += ep.inFlight;
    const cap = Math.ceil(((1 + this.cfg.epsilon) * (total + 1)) / candidates.length);
    const h = hash32(key);
    const n = ring.points.length;
    let i = lowerBound(ring.points, h);
    let least: Endpoint | undefined;
    for (let k = 0; k < n; k++, i++) {
      const ep = ring.owners[i % n] as Endpoint;
      if (ep.inFlight < cap) return ep;
      if (!least || ep.inFlight < least.inFlight) least = ep;
    }
    return least;
  }

  private ring(candidates: readonly Endpoint[]): Ring {
    const sig = candidates.map((e) => e.id).join("\u0000");
    const cached = this.rings.get(sig);
    if (cached) {
      this.rings.delete(sig);
      this.rings.set(sig, cached);
      return cached;
    }
    const ring = buildRing(candidates, this.cfg.virtualNodes);
    this.rings.set(sig, ring);
    if (this.rings.size > MAX_RINGS) this.rings.delete(this.rings.keys().next().value as string);
    return ring;
  }
}

function buildRing(endpoints: readonly Endpoint[], vnodes: number): Ring {
  const pts: Array<[number, Endpoint]> = [];
  for (const ep of endpoints) {
    const count = Math.max(1, Math.round(vnodes * ep.weight));
    for (let v = 0; v < count; v++) pts.push([hash32(`${ep.id}#${v}`), ep]);
  }
  pts.sort((a, b) => a[0] - b[0]);
  return { points: Uint32Array.from(pts, (p) => p[0]), owners: pts.map((p) => p[1]) };
}

function lowerBound(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as number) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The request's affinity key from the configured source, or undefined when it has none. */
export function affinityKey(src: AffinityKeyConfig, req: RouteRequest): string | undefined {
  switch (src.source) {
    case "header":
      return req.forwardHeaders?.[src.name] || undefined;
    case "user": {
      const user = req.body.user;
      return typeof user === "string" && user !== "" ? user : undefined;
    }
    case "prefix": {
      const text = promptPrefix(req.body, src.chars);
      return text === "" ? undefined : text;
    }
  }
}

/** The first `chars` characters of the prompt: chat messages' text in order, or the completion prompt. */
export function promptPrefix(body: Record<string, unknown>, chars: number): string {
  let out = "";
  const add = (s: string): boolean => {
    out += s;
    return out.length >= chars;
  };
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const m of messages) {
      if (!m || typeof m !== "object") continue;
      const { role, content } = m as { role?: unknown; content?: unknown };
      if (add(`${String(role)}:`)) break;
      if (typeof content === "string") {
        if (add(`${content}\n`)) break;
      } else if (Array.isArray(content)) {
        let full = false;
        for (const part of content) {
          const t = (part as { text?: unknown } | null)?.text;
          if (typeof t === "string" && add(t)) {
            full = true;
            break;
          }
        }
        if (full || add("\n")) break;
      }
    }
    return out.slice(0, chars);
  }
  const prompt = body.prompt;
  if (typeof prompt === "string") return prompt.slice(0, chars);
  if (Array.isArray(prompt) && typeof prompt[0] === "string") return prompt[0].slice(0, chars);
  if (Array.isArray(prompt)) return prompt.slice(0, chars).join(",");
  return "";
}
