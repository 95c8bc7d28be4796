import type { Authenticator, AuthHeaders } from "../auth/authenticate.js";
import { checkModelAllowed } from "../auth/authenticate.js";
import type { KeyMemo } from "../auth/keys.js";
import { ANONYMOUS, type Principal } from "../auth/principal.js";
import type { RequestContext } from "../core/context.js";
import { GatewayError, toGatewayError } from "../core/errors.js";
import type { Operation, RouteResult, Usage } from "../core/types.js";
import {
  acquireConcurrency,
  concurrencyLimitedError,
  type Decision,
  type Lease,
  type LimitsConfig,
  type PlanShape,
  planFromShape,
  planShape,
  type RateLimitStore,
  rateLimitedError,
  rateLimitHeaders,
  releaseConcurrency,
  reserveWithFailureMode,
  settlementFor,
} from "../limits/index.js";
import type { Logger } from "../observability/logger.js";
import type { UsageRecorder } from "../store/usage-recorder.js";
import { estimateRequest } from "../tokenize/estimate.js";

/** What happened to one limit decision, for metrics. */
export type LimitOutcome = "allowed" | "rejected" | "dry_run_would_block" | "fail_open";

export interface GateObserver {
  limit(outcome: LimitOutcome): void;
  /** A request's caller is known (an event on its span). */
  authenticated?(ctx: RequestContext, principalKind: string): void;
}

/** A request that passed the gate. `finish` settles it exactly once, when the request ends. */
export interface Ticket {
  /** The `x-ratelimit-*` headers to send with the answer. */
  readonly headers: Record<string, string>;
  /** Real usage when known; null when unknown (a cut stream): the reservation then stands. */
  finish(usage: Usage | null): void;
}

export interface GateDeps {
  authenticator: Authenticator;
  limits: LimitsConfig;
  store: RateLimitStore;
  usage: UsageRecorder | undefined;
  logger: Logger;
  observer?: GateObserver;
}

type Plan = ReturnType<typeof planFromShape>;

/** Models whose plan shape one principal keeps at most. */
const MAX_SHAPES_PER_PRINCIPAL = 64;

/**
 * A ticket on its way from a store that has to be reached. `early`: the store's recent answers
 * showed room to spare, so the request may start before the answer (see `runAdmitted`).
 */
export type PendingTicket = Promise<Ticket> & { early?: boolean };

const NOTHING: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** The ticket of a request nothing limits: nothing to settle, no headers. */
const FREE_TICKET: Ticket = Object.freeze({ headers: NOTHING, finish: () => {} });

/**
 * The one policy gate every front door (HTTP, gRPC, job submission) passes before the router:
 * authentication, the model allow-list, and rate limits, budgets and concurrency, reserved before
 * the call and settled to real usage after it.
 */
export class Gate {
  /** True when the config sets no limit anywhere (per-key limits may still come with a principal). */
  private readonly unlimited: boolean;
  /** Plan shapes by principal and model (see `shapeOf`). */
  private readonly shapes = new WeakMap<Principal, Map<string, PlanShape>>();

  constructor(private readonly d: GateDeps) {
    const l = d.limits;
    this.unlimited = !l.global && !l.perKeyDefaults && Object.keys(l.models).length === 0;
  }

  /** True when no credentials are checked (auth.mode none): every caller is anonymous. */
  get open(): boolean {
    return this.d.authenticator.mode === "none";
  }

  /**
   * See `Authenticator.authenticate`: a promise only when it has to wait; never throws. With `ctx`,
   * the observer hears who the caller is once that is known.
   */
  authenticate(headers: AuthHeaders, ctx?: RequestContext, memo?: KeyMemo): Principal | Promise<Principal> {
    const p = this.d.authenticator.authenticate(headers, memo);
    const report = this.d.observer?.authenticated;
    if (!report || !ctx) return p;
    if (p instanceof Promise)
      return p.then((q) => {
        report(ctx, q.kind);
        return q;
      });
    report(ctx, p.kind);
    return p;
  }

  isAdmin(headers: AuthHeaders): boolean {
    return this.d.authenticator.isAdmin(headers);
  }

  /**
   * Checks the allow-list and takes what the limits require; throws 403 / 429 / 503. Returns the
   * ticket directly (no promise) when the answer needs no waiting: nothing limits the request, or
   * the limits live in memory and take no concurrency slot. Only a store that may have to be
   * reached (Redis) or a concurrency slot costs a turn of the event loop.
   */
  admit(
    principal: Principal,
    op: Operation,
    model: string,
    body: Record<string, unknown>,
    opts?: { earlyStart?: boolean },
  ): Ticket | PendingTicket {
    checkModelAllowed(principal, model);
    if (this.unlimited && principal.kind !== "key" && Object.keys(principal.limits).length === 0)
      return FREE_TICKET;
    const { limits, store } = this.d;
    const plan = planFromShape(this.shapeOf(principal, model), () =>
      estimateRequest(op, body, limits.defaultMaxTokensEstimate),
    );
    if (plan.request.buckets.length === 0 && plan.concurrency.length === 0) {
      return this.ticket(principal, undefined, undefined, []);
    }
    if (plan.concurrency.length === 0 && store.reserveSync) {
      return this.decided(principal, model, plan, store.reserveSync(plan.request), []);
    }
    const early =
      opts?.earlyStart === true && plan.concurrency.length === 0 && store.claimRoom?.(plan.request);
    const pending: PendingTicket = this.admitLimited(principal, model, plan);
    if (early) pending.early = true;
    return pending;
  }

  /**
   * The plan shape of a principal and model, kept while the principal object lives: a key's
   * principal is the one its cached lookup holds (renewed with the lookup), the anonymous one
   * lives for ever. Other principals (a token's, made per request) get theirs made afresh.
   */
  private shapeOf(principal: Principal, model: string): PlanShape {
    if (principal.kind !== "key" && principal !== ANONYMOUS)
      return planShape(this.d.limits, principal, model);
    let byModel = this.shapes.get(principal);
    if (byModel === undefined) {
      byModel = new Map();
      this.shapes.set(principal, byModel);
    }
    let shape = byModel.get(model);
    if (shape === undefined) {
      // Bounded: model names reach here only after the router knew them, but never trust that.
      if (byModel.size >= MAX_SHAPES_PER_PRINCIPAL) byModel.clear();
      shape = planShape(this.d.limits, principal, model);
      byModel.set(model, shape);
    }
    return shape;
  }

  private async admitLimited(principal: Principal, model: string, plan: Plan): Promise<Ticket> {
    const { limits, store } = this.d;
    const onFailOpen = (err: GatewayError) => this.failOpen(err);
    const conc = await acquireConcurrency(
      store,
      plan.concurrency,
      limits.leaseTtlMs,
      limits.failureMode,
      onFailOpen,
    );
    if (!conc.ok) {
      this.d.observer?.limit("rejected");
      throw concurrencyLimitedError(conc.blockedKey, conc.limit);
    }
    let decision: Decision;
    try {
      decision = await reserveWithFailureMode(store, plan.request, limits.failureMode, onFailOpen);
    } catch (err) {
      void releaseConcurrency(store, conc.leases);
      throw err;
    }
    return this.decided(principal, model, plan, decision, conc.leases, conc.wouldBlock);
  }

  /** The ticket of a reservation decision, or the 429 when it was refused (its slots given back). */
  private decided(
    principal: Principal,
    model: string,
    plan: Plan,
    decision: Decision,
    leases: Lease[],
    concWouldBlock: readonly string[] = [],
  ): Ticket {
    const { store } = this.d;
    if (!decision.allowed) {
      if (leases.length > 0) void releaseConcurrency(store, leases);
      this.d.observer?.limit("rejected");
      const e = rateLimitedError(decision);
      throw new GatewayError(e.code, e.message, {
        retryAfterSeconds: e.retryAfterSeconds,
        headers: rateLimitHeaders(decision),
      });
    }
    if (decision.wouldBlock.length > 0 || concWouldBlock.length > 0) {
      const wouldBlock = [...decision.wouldBlock, ...concWouldBlock];
      this.d.observer?.limit("dry_run_would_block");
      this.d.logger.warn(
        { principal: principal.id, model, wouldBlock },
        "dry-run limit would have rejected a request",
      );
    } else if (!decision.degraded) this.d.observer?.limit("allowed");
    return this.ticket(principal, plan, decision, leases);
  }

  private failOpen(err: GatewayError): void {
    this.d.observer?.limit("fail_open");
    this.d.logger.warn(
      { err: err.message },
      "rate-limit store unavailable: letting the request through (failureMode open)",
    );
  }

  private ticket(
    principal: Principal,
    plan: Plan | undefined,
    decision: Decision | undefined,
    leases: Lease[],
  ): Ticket {
    let done = false;
    const { store, usage, logger } = this.d;
    return {
      headers: decision ? rateLimitHeaders(decision) : NOTHING,
      finish: (u) => {
        if (done) return;
        done = true;
        if (plan && decision) {
          const actual = u && { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
          const adjustments = settlementFor(plan, decision, actual);
          if (adjustments.length > 0) {
            const failed = (err: unknown) => logger.warn({ err }, "settling a rate-limit reservation failed");
            if (store.settleSync) {
              try {
                store.settleSync(adjustments);
              } catch (err) {
                failed(err);
              }
            } else store.settle(adjustments).catch(failed);
          }
        }
        if (leases.length > 0) void releaseConcurrency(store, leases);
        if (usage && principal.kind === "key") {
          usage.record(principal.id.slice(4), {
            requests: 1,
            promptTokens: u?.prompt_tokens ?? 0,
            completionTokens: u?.completion_tokens ?? 0,
          });
        }
      },
    };
  }
}

/**
 * Runs a request the gate admitted: `run` is its call to the router, `onTicket` takes the ticket
 * (for its headers) as soon as it is known, before the result. A ticket still on its way with
 * `early` set lets `run` start at once, alongside the reservation: the request is answered only
 * after the reservation, and a refused one cancels the call, drops what it returned and throws
 * the refusal (429, or 503 with `failureMode: closed`). The ticket is the context's (settled when
 * the request ends) once known.
 */
export function runAdmitted(
  admitted: Ticket | PendingTicket,
  ctx: RequestContext,
  onTicket: (ticket: Ticket) => void,
  run: () => Promise<RouteResult>,
): Promise<RouteResult> {
  if (admitted instanceof Promise) return runPending(admitted, ctx, onTicket, run);
  // Admitted already (no limits, or limits in memory): no promise of its own on the way.
  ctx.ticket = admitted;
  onTicket(admitted);
  return run();
}

async function runPending(
  admitted: PendingTicket,
  ctx: RequestContext,
  onTicket: (ticket: Ticket) => void,
  run: () => Promise<RouteResult>,
): Promise<RouteResult> {
  const take = (ticket: Ticket) => {
    ctx.ticket = ticket;
    onTicket(ticket);
  };
  if (!admitted.early) {
    take(await admitted);
    return run();
  }
  const started = run();
  // Awaited below once the reservation is allowed; a refusal makes its outcome moot.
  started.catch(() => {});
  let ticket: Ticket;
  try {
    ticket = await admitted;
  } catch (err) {
    ctx.abort(toGatewayError(err));
    started.then(
      (r) => {
        if (r.kind === "stream") r.discard();
      },
      () => {},
    );
    throw err;
  }
  take(ticket);
  return started;
}
