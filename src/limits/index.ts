/** The public surface of the rate-limit engine. */
export {
  type LimitSet,
  type LimitStoreConfig,
  type LimitsConfig,
  limitSetSchema,
  limitsConfigSchema,
} from "./config.js";
export { createRateLimitStore, type StoreDeps } from "./factory.js";
export {
  acquireConcurrency,
  type ConcurrencyOutcome,
  type FailureMode,
  type Lease,
  type OnFailOpen,
  releaseConcurrency,
  reserveWithFailureMode,
} from "./failure.js";
export { concurrencyLimitedError, formatDuration, rateLimitedError, rateLimitHeaders } from "./headers.js";
export { windowBounds } from "./math.js";
export { MemoryRateLimitStore, type MemoryStoreOptions } from "./memory.js";
export {
  type ActualUsage,
  type ConcurrencySlot,
  type PlanShape,
  planFromShape,
  planReservation,
  planShape,
  type ReservationPlan,
  settlementFor,
  type TokenEstimate,
} from "./policy.js";
export type {
  Adjustment,
  BucketKind,
  BucketMode,
  BucketResult,
  BucketSpec,
  BudgetWindow,
  Decision,
  RateLimitStore,
  Refill,
  ReserveBucket,
  ReserveRequest,
} from "./types.js";
