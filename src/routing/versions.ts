import type { Endpoint } from "./endpoint.js";

/** What a version split needs of a pool (the pool module itself is not imported: it owns the split). */
export interface VersionTarget {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
}

export interface Version<P extends VersionTarget = VersionTarget> {
  name: string;
  weight: number;
  pool: P;
  /** The model name requests carry on this version: the public name, or the referenced model's. */
  model: string;
}

/**
 * A canary split: each request of the model goes to one version, by smooth weighted round robin
 * over the versions' weights — exact shares over every cycle, not just on average.
 */
export class VersionSplit<P extends VersionTarget = VersionTarget> {
  private readonly score: number[];
  private readonly counts: number[];
  private readonly total: number;

  constructor(readonly versions: readonly Version<P>[]) {
    this.score = versions.map(() => 0);
    this.counts = versions.map(() => 0);
    this.total = versions.reduce((s, v) => s + v.weight, 0);
  }

  choose(): Version<P> {
    let best = 0;
    for (let i = 0; i < this.versions.length; i++) {
      this.score[i] = (this.score[i] as number) + (this.versions[i] as Version<P>).weight;
      if ((this.score[i] as number) > (this.score[best] as number)) best = i;
    }
    this.score[best] = (this.score[best] as number) - this.total;
    this.counts[best] = (this.counts[best] as number) + 1;
    return this.versions[best] as Version<P>;
  }

  endpoints(): Endpoint[] {
    return [...new Set(this.versions.flatMap((v) => v.pool.endpoints))];
  }

  /** Pools that belong to this split only (not models of their own). */
  snapshot() {
    return this.versions.map((v, i) => ({
      name: v.name,
      weight: v.weight,
      model: v.model,
      pool: v.pool.name,
      requests: this.counts[i],
    }));
  }
}
