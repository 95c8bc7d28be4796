import type { Backend } from "../backends/types.js";

/** One upstream replica in a pool, with the live figures balancers and readiness read. */
export class Endpoint {
  inFlight = 0;
  /** False after a failure to reach the upstream, true again after any success. */
  healthy = true;
  lastError: string | undefined;

  constructor(
    readonly id: string,
    readonly backend: Backend,
    readonly weight: number,
    /** The model name the upstream knows, when it differs from the public name. */
    readonly upstreamModel: string | undefined,
  ) {}

  markSuccess(): void {
    this.healthy = true;
    this.lastError = undefined;
  }

  markUnreachable(reason: string): void {
    this.healthy = false;
    this.lastError = reason;
  }
}
