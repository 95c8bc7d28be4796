/**
 * Who is calling: the result of authentication, read by limits, model allow-lists and logs.
 * Every front door (HTTP, gRPC, job submission) produces one before the router runs.
 */

/** Limits attached to one principal (from its key record or its JWT claims). Absent = not limited here. */
export interface PrincipalLimits {
  /** Requests per minute. */
  rpm?: number;
  /** Tokens (prompt + completion) per minute. */
  tpm?: number;
  /** Requests in flight at once. */
  maxConcurrent?: number;
  /** Tokens allowed per budget period. */
  budgetTokens?: number;
  /** Budget period: `day`, `week` or `month` (calendar, UTC). */
  budgetPeriod?: "day" | "week" | "month";
}

export interface Principal {
  /** Stable id for limit keys and logs: `key:<keyId>`, `jwt:<issuer>|<subject>`, or `anonymous`. */
  readonly id: string;
  readonly kind: "key" | "jwt" | "anonymous";
  /** Human-readable name (key name or JWT subject); never a secret. */
  readonly name: string;
  /** Models this principal may use; undefined means every model. */
  readonly allowedModels?: readonly string[];
  readonly limits: PrincipalLimits;
  /** Priority class for admission (later issues); `default` when unset. */
  readonly priority?: string;
}

export const ANONYMOUS: Principal = Object.freeze({
  id: "anonymous",
  kind: "anonymous",
  name: "anonymous",
  limits: Object.freeze({}),
});
