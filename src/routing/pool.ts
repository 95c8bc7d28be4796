import type { ModelType } from "../core/types.js";
import { type Balancer, createBalancer } from "./balancers/index.js";
import type { Endpoint } from "./endpoint.js";

/** A public model name and the endpoints that serve it. */
export class Pool {
  readonly balancer: Balancer;

  constructor(
    readonly name: string,
    readonly type: ModelType,
    readonly endpoints: readonly Endpoint[],
    balancer: "round_robin",
  ) {
    this.balancer = createBalancer(balancer);
  }

  pick(): Endpoint | undefined {
    return this.balancer.pick(this.endpoints);
  }

  get ready(): boolean {
    return this.endpoints.some((e) => e.healthy);
  }
}
