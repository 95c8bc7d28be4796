/**
 * Policy: turns the `limits:` config, the principal and the model into buckets to reserve and
 * concurrency slots to take, and real usage into settlement adjustments.
 */
import type { Principal } from "../auth/principal.js";
import type { LimitSet, LimitsConfig } from "./config.js";
import type { Adjustment, BucketMode, Decision, ReserveBucket, ReserveRequest } from "./types.js";

export { type LimitSet, type LimitsConfig, limitSetSchema, limitsConfigSchema } from "./config.js";

const MINUTE_MS = 60_000;

/** What a request may consume: estimated prompt tokens and the most completion tokens it may produce. */
export interface TokenEstimate {
  promptTokens: number;
  maxOutputTokens: number;
}

export interface ConcurrencySlot {
  key: string;
  limit: number;
  mode: BucketMode;
}

export interface ReservationPlan {
  request: ReserveRequest;
  /** In-flight slots to acquire (see `acquireConcurrency`). */
  concurrency: ConcurrencySlot[];
  /** Tokens each tokens/budget bucket reserves (0 when the plan has none and nothing was estimated). */
  reservedTokens: number;
}

/** Real usage reported by the upstream; null when unknown (the reservation then stands as charged). */
export interface ActualUsage {
  promptTokens: number;
  completionTokens: number;
}

interface Scope {
  name: string;
  set: LimitSet;
}

function scopesFor(cfg: LimitsConfig, principal: Principal, model: string): Scope[] {
  const scopes: Scope[] = [];
  if (cfg.global) scopes.push({ name: "global", set: cfg.global });
  const m = Object.hasOwn(cfg.models, model) ? cfg.models[model] : undefined;
  if (m) scopes.push({ name: `model:${model}`, set: m });
  const own = principal.limits;
  const set: LimitSet = { ...cfg.perKeyDefaults };
  for (const k of ["rpm", "tpm", "maxConcurrent", "budgetTokens", "budgetPeriod"] as const) {
    if (own[k] !== undefined) (set as Record<string, unknown>)[k] = own[k];
  }
  scopes.push({ name: `principal:${principal.id}`, set });
  return scopes;
}

function needsTokens(scopes: readonly Scope[]): boolean {
  return scopes.some((s) => s.set.tpm !== undefined || s.set.budgetTokens !== undefined);
}

/** A request's buckets without their costs: the same for every request of one principal and model. */
export interface PlanShape {
  readonly buckets: readonly Omit<ReserveBucket, "cost">[];
  readonly concurrency: ConcurrencySlot[];
  /** Some bucket counts tokens, so the request's tokens must be estimated. */
  readonly needsTokens: boolean;
}

/** The buckets `planReservation` makes for this principal and model, in the order global → model → principal. */
export function planShape(cfg: LimitsConfig, principal: Principal, model: string): PlanShape {
  const scopes = scopesFor(cfg, principal, model);
  const buckets: Array<Omit<ReserveBucket, "cost">> = [];
  const concurrency: ConcurrencySlot[] = [];
  for (const { name, set } of scopes) {
    const mode: BucketMode = set.dryRun ? "dry_run" : "enforce";
    const rate = { type: "rate", periodMs: MINUTE_MS } as const;
    if (set.rpm !== undefined) {
      buckets.push({ key: `rpm:${name}`, kind: "requests", capacity: set.rpm, refill: rate, mode });
    }
    if (set.tpm !== undefined) {
      buckets.push({ key: `tpm:${name}`, kind: "tokens", capacity: set.tpm, refill: rate, mode });
    }
    if (set.budgetTokens !== undefined) {
      const window = set.budgetPeriod ?? "month";
      buckets.push({
        key: `budget:${window}:${name}`,
        kind: "budget",
        capacity: set.budgetTokens,
        refill: { type: "window", window },
        mode,
      });
    }
    if (set.maxConcurrent !== undefined) {
      concurrency.push({ key: `conc:${name}`, limit: set.maxConcurrent, mode });
    }
  }
  return { buckets, concurrency, needsTokens: needsTokens(scopes) };
}

/**
 * One request's plan from its shape: request buckets cost 1, token and budget buckets the
 * estimate. `estimate` may be a function: it is called only when some bucket counts tokens, so a
 * gateway without token limits never tokenizes (nor loads the tokenizer).
 */
export function planFromShape(
  shape: PlanShape,
  estimate: TokenEstimate | (() => TokenEstimate),
): ReservationPlan {
  let tokens = 0;
  if (shape.needsTokens) {
    const e = typeof estimate === "function" ? estimate() : estimate;
    tokens = Math.max(0, Math.ceil(e.promptTokens)) + Math.max(0, Math.ceil(e.maxOutputTokens));
  }
  const buckets: ReserveBucket[] = [];
  for (const b of shape.buckets) {
    buckets.push({
      key: b.key,
      kind: b.kind,
      capacity: b.capacity,
      refill: b.refill,
      cost: b.kind === "requests" ? 1 : tokens,
      mode: b.mode,
    });
  }
  return { request: { buckets }, concurrency: shape.concurrency, reservedTokens: tokens };
}

/** The buckets of one request (`planShape`, then `planFromShape`). */
export function planReservation(
  cfg: LimitsConfig,
  principal: Principal,
  model: string,
  estimate: TokenEstimate | (() => TokenEstimate),
): ReservationPlan {
  return planFromShape(planShape(cfg, principal, model), estimate);
}

/**
 * Adjustments that settle a reservation to real usage: for each tokens/budget bucket the decision
 * charged, `real total − charged` (negative: refund, cut at what was charged; positive: extra
 * charge). Request buckets keep their 1. With `actual` null nothing changes.
 */
export function settlementFor(
  plan: ReservationPlan,
  decision: Decision,
  actual: ActualUsage | null,
): Adjustment[] {
  if (actual === null || !decision.allowed) return [];
  const total = Math.max(0, Math.ceil(actual.promptTokens)) + Math.max(0, Math.ceil(actual.completionTokens));
  const out: Adjustment[] = [];
  for (const r of decision.buckets) {
    if (r.kind === "requests" || r.charged <= 0) continue;
    const b = plan.request.buckets.find((x) => x.key === r.key);
    if (!b) continue;
    const delta = Math.max(total - r.charged, -r.charged);
    if (delta === 0) continue;
    const adj: Adjustment = { key: b.key, capacity: b.capacity, refill: b.refill, delta, charged: r.charged };
    out.push(r.windowStartMs === undefined ? adj : { ...adj, windowStartMs: r.windowStartMs });
  }
  return out;
}
