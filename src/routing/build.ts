import { createBackend } from "../backends/factory.js";
import type { Config, EndpointConfig, ModelConfig } from "../config/schema.js";
import type { BreakerState } from "./breaker.js";
import { createDiscovery } from "./discovery/index.js";
import { Endpoint } from "./endpoint.js";
import type { RouterObserver } from "./observer.js";
import { Pool } from "./pool.js";
import { ShadowMirror } from "./shadow.js";
import { type Version, VersionSplit } from "./versions.js";

export interface BuildOptions {
  observer: RouterObserver;
  /** Endpoints of the routing table being replaced: those whose config is unchanged are kept as they are. */
  previous?: Iterable<Endpoint>;
  warn?: (msg: string, fields: Record<string, unknown>) => void;
}

/** A JSON text with object keys sorted, so equal configs give equal keys. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * Builds the public pools of a config: plain models, hidden pools of canary versions (`model@version`),
 * shadows and discovery. Endpoints from `previous` whose pool, config and breaker/outlier settings
 * are unchanged are reused (connections, health, breaker state and latency carry over).
 */
export function buildPools(config: Config, opts: BuildOptions): Map<string, Pool> {
  const reuse = new Map<string, Endpoint>();
  for (const ep of opts.previous ?? []) if (ep.configKey && !ep.retired) reuse.set(ep.configKey, ep);
  const pools = new Map<string, Pool>();
  const entries = Object.entries(config.models);
  for (const [name, model] of entries)
    if (!model.versions) pools.set(name, leafPool(name, model, opts, reuse));
  for (const [name, model] of entries) {
    if (!model.versions) continue;
    const versions: Version<Pool>[] = model.versions.map((v) => {
      if (v.model !== undefined)
        return { name: v.name, weight: v.weight, pool: pools.get(v.model) as Pool, model: v.model };
      const cfg: ModelConfig = {
        ...model,
        endpoints: v.endpoints ?? [],
        versions: undefined,
        shadow: undefined,
      };
      return {
        name: v.name,
        weight: v.weight,
        pool: leafPool(`${name}@${v.name}`, cfg, opts, reuse),
        model: name,
      };
    });
    pools.set(name, new Pool(name, model, [], opts.observer, { versions: new VersionSplit(versions) }));
  }
  for (const [name, model] of entries) {
    if (!model.shadow) continue;
    const target = pools.get(model.shadow.model) as Pool;
    const mirror = new ShadowMirror(model.shadow, target, name, opts.observer);
    (pools.get(name) as Pool).shadow = mirror;
  }
  return pools;
}

function leafPool(
  name: string,
  model: ModelConfig,
  opts: BuildOptions,
  reuse: ReadonlyMap<string, Endpoint>,
): Pool {
  const policy = stableJson({ breaker: model.breaker, outlier: model.outlier });
  const make = (
    ep: EndpointConfig,
    i: number,
    pool: ReadonlyMap<string, Endpoint>,
    dup: number,
  ): Endpoint => {
    const key = `${name}\u0000${stableJson(ep)}\u0000${policy}\u0000${dup}`;
    const old = pool.get(key) ?? reuse.get(key);
    if (old) return old;
    const backend = createBackend(ep, name, i);
    const endpoint = new Endpoint(
      ep.id ?? backend.label,
      backend,
      ep.weight,
      ep.kind === "openai" ? ep.model : undefined,
      model.breaker,
      model.outlier,
      {
        breaker: (e: Endpoint, from: BreakerState, to: BreakerState) =>
          opts.observer.breaker(name, e.id, from, to),
      },
    );
    endpoint.configKey = key;
    return endpoint;
  };
  const seen = new Map<string, number>();
  const dupOf = (ep: EndpointConfig): number => {
    const k = stableJson(ep);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    return n;
  };
  const empty = new Map<string, Endpoint>();
  const endpoints = model.endpoints.map((ep, i) => make(ep, i, empty, dupOf(ep)));
  return new Pool(name, model, endpoints, opts.observer, {
    discovery: model.discovery ? createDiscovery(model.discovery) : undefined,
    makeEndpoint: (ep, i, current) => make(ep, model.endpoints.length + i, current, 0),
    warn: opts.warn,
  });
}

/** Every pool that owns endpoints, once: the public ones and the hidden pools of versions. */
export function leafPools(pools: Iterable<Pool>): Pool[] {
  const out = new Set<Pool>();
  for (const p of pools) {
    if (p.versions) for (const v of p.versions.versions) out.add(v.pool);
    else out.add(p);
  }
  return [...out];
}
