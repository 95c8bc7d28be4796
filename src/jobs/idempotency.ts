import { setTimeout as sleep } from "node:timers/promises";
import type { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import type { JsonResult, RouteRequest, RouteResult } from "../core/types.js";
import type { IdempotencyRepository } from "../store/job-types.js";
import { fingerprint } from "./service.js";

const KEY = /^[\x21-\x7e]{1,255}$/;

interface Stored {
  payload: string;
  endpoint: string;
}

/**
 * `Idempotency-Key` for the sync endpoints: the first call with a key runs; a repeat with the same
 * body gets the stored answer (or waits while the first still runs); another body gets 422.
 * Only successful non-streaming answers are stored; a failed call frees the key so a retry runs.
 */
export class SyncIdempotency {
  constructor(
    private readonly repo: IdempotencyRepository,
    private readonly ttlMs: number,
    private readonly pollMs = 50,
  ) {}

  /** Runs `exec` at most once per (principal, key, body) within the key's lifetime. */
  async run(
    principalId: string,
    key: string,
    body: Buffer | string,
    ctx: RequestContext,
    exec: () => Promise<RouteResult>,
  ): Promise<RouteResult> {
    if (!KEY.test(key)) {
      throw new GatewayError("invalid_header", "Idempotency-Key must be 1 to 255 visible ASCII characters.", {
        param: "Idempotency-Key",
      });
    }
    const scope = `sync:${principalId}`;
    const fp = fingerprint(body);
    for (;;) {
      const now = Date.now();
      const lockUntil = now + Math.min(ctx.remainingMs(), this.ttlMs);
      const got = await this.repo.acquire(scope, key, fp, now, lockUntil, now + this.ttlMs);
      if (got.kind === "conflict") {
        throw new GatewayError(
          "idempotency_key_reused",
          "This Idempotency-Key was already used with a different request body. Use a new key.",
          { param: "Idempotency-Key" },
        );
      }
      if (got.kind === "done") {
        const s = JSON.parse(got.response) as Stored;
        return {
          kind: "json",
          payload: s.payload,
          usage: undefined,
          endpoint: s.endpoint,
        } satisfies JsonResult;
      }
      if (got.kind === "acquired") return this.#first(scope, key, exec);
      if (ctx.remainingMs() <= this.pollMs) {
        throw new GatewayError(
          "idempotency_key_in_progress",
          "A call with this Idempotency-Key is still running; retry later to get its answer.",
          { retryAfterSeconds: 1 },
        );
      }
      await sleep(this.pollMs, undefined, { signal: ctx.signal }).catch(() => undefined);
      if (ctx.signal.aborted) throw ctx.signal.reason;
    }
  }

  async #first(scope: string, key: string, exec: () => Promise<RouteResult>): Promise<RouteResult> {
    let result: RouteResult;
    try {
      result = await exec();
    } catch (err) {
      await this.repo.release(scope, key);
      throw err;
    }
    if (result.kind !== "json") {
      await this.repo.release(scope, key);
      return result;
    }
    const payload = typeof result.payload === "string" ? result.payload : result.payload.toString("utf8");
    const stored: Stored = { payload, endpoint: result.endpoint };
    await this.repo.complete(scope, key, JSON.stringify(stored), Date.now() + this.ttlMs);
    return result;
  }
}

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/**
 * An `Idempotency-Key` as a client sent it (header or gRPC metadata): 1 to 255 visible ASCII
 * characters, else `invalid_header`. Every front door checks keys here, jobs and sync calls alike.
 */
export function idempotencyKey(value: string | string[] | undefined): string | undefined {
  const key = Array.isArray(value) ? value[0] : value;
  if (key !== undefined && !KEY_FORMAT.test(key)) {
    throw new GatewayError("invalid_header", "Idempotency-Key must be 1 to 255 visible ASCII characters.", {
      param: "Idempotency-Key",
    });
  }
  return key;
}

/**
 * What `src/http/model-routes.ts` calls around `router.execute`: returns `execute` itself unless the
 * request carries an `Idempotency-Key` and is not a stream (streams are not deduplicated); then a
 * wrapper that runs it through `idem`.
 */
export function runIdempotent(
  idem: SyncIdempotency | undefined,
  key: string | string[] | undefined,
  call: { principalId: string; body: Buffer | undefined; stream: boolean },
  execute: (req: RouteRequest, ctx: RequestContext) => Promise<RouteResult>,
): (req: RouteRequest, ctx: RequestContext) => Promise<RouteResult> {
  const k = idempotencyKey(key);
  if (!idem || k === undefined || call.stream) return execute;
  return (req, ctx) => idem.run(call.principalId, k, call.body ?? "", ctx, () => execute(req, ctx));
}
