/**
 * The Redis `RateLimitStore` (distributed profile): every method is one round trip (a Lua script
 * by EVALSHA, falling back to EVAL when Redis lost its script cache), and settlements ride along
 * with the next decision's script; Redis `TIME` is the clock, and every key carries a TTL. When
 * Redis cannot be reached a call rejects at once (no offline queue) or after `commandTimeoutMs`
 * with `rate_limit_store_unavailable`; the client keeps reconnecting
 * in the background, so calls succeed again as soon as Redis is back.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { GatewayError } from "../core/errors.js";
import {
  evalScript,
  failFastOptions,
  type LuaScript,
  luaScript,
  waitReady,
} from "../core/redis-connection.js";
import { LUA_ACQUIRE, LUA_RESERVE, LUA_SETTLE } from "./lua.js";
import { openDecision, validateBucket, wouldBlockOf } from "./math.js";
import type {
  Adjustment,
  BucketResult,
  BucketSpec,
  Decision,
  RateLimitStore,
  ReserveRequest,
} from "./types.js";

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** Prepended to every key, e.g. `switchyard:rl:`. */
  keyPrefix: string;
  /** Longest wait for one reply before the call fails as unavailable. */
  commandTimeoutMs: number;
  /** Longest wait for a TCP connection (default: `commandTimeoutMs`, at least 1 s). */
  connectTimeoutMs?: number;
  /** Called with connection errors (the client keeps reconnecting); for logs and metrics. */
  onError?: (err: Error) => void;
  /**
   * Early start (see `claimRoom`): `minRoom` is the share of a bucket's limit that must be left
   * after the request. False or absent: never.
   */
  earlyStart?: { minRoom: number } | false;
}

/** How long an answer from Redis about a bucket counts for an early start. */
export const ROOM_MAX_AGE_MS = 1_000;
/** Buckets whose last answer is remembered at most (the memory is emptied when full). */
const ROOM_MAX_KEYS = 10_000;

/** What the last answer said about a bucket, less what this gateway reserved since. */
interface Room {
  remaining: number;
  atMs: number;
}

const RESERVE = luaScript(LUA_RESERVE);
/** Longest a settlement waits for a decision to travel with (see `settle`). */
export const SETTLE_DELAY_MS = 5;
const SETTLE = luaScript(LUA_SETTLE);
const ACQUIRE = luaScript(LUA_ACQUIRE);

function unavailable(err: unknown): GatewayError {
  const msg = err instanceof Error ? err.message : String(err);
  return new GatewayError("rate_limit_store_unavailable", `rate-limit store unavailable: ${msg}`, {
    cause: err,
  });
}

/** The first three script arguments of a bucket: type, capacity, periodMs (0 for windows). */
function specArgs(b: BucketSpec): [string, number, number] {
  return b.refill.type === "rate"
    ? ["rate", b.capacity, b.refill.periodMs]
    : [b.refill.window, b.capacity, 0];
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: Redis;
  readonly #prefix: string;
  #settlements: Array<{
    keys: string[];
    args: Array<string | number>;
    resolve: () => void;
    reject: (err: unknown) => void;
  }> = [];
  #settlementTimer: NodeJS.Timeout | undefined;
  readonly #minRoom: number | undefined;
  readonly #room = new Map<string, Room>();

  constructor(opts: RedisStoreOptions) {
    this.#prefix = opts.keyPrefix;
    this.#minRoom = opts.earlyStart ? opts.earlyStart.minRoom : undefined;
    this.#client = new Redis(
      opts.url,
      failFastOptions({
        commandTimeoutMs: opts.commandTimeoutMs,
        connectTimeoutMs: opts.connectTimeoutMs ?? Math.max(1_000, opts.commandTimeoutMs),
      }),
    );
    const onError = opts.onError;
    this.#client.on("error", (err: Error) => onError?.(err));
  }

  /** Resolves once connected (or rejects after `timeoutMs`); calls made before then fail fast. */
  ready(timeoutMs = 5_000): Promise<void> {
    return waitReady(this.#client, timeoutMs, unavailable);
  }

  async reserve(req: ReserveRequest): Promise<Decision> {
    const buckets = req.buckets;
    if (buckets.length === 0) return openDecision(false);
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const b of buckets) {
      validateBucket(b);
      keys.push(this.#prefix + b.key);
      args.push(...specArgs(b), b.cost, b.mode);
    }
    const out = (await this.#withSettlements(RESERVE, keys, args)) as number[];
    const atMs = Date.now();
    const results: BucketResult[] = buckets.map((b, i) => {
      const o = 3 + i * 6;
      const r: BucketResult = {
        key: b.key,
        kind: b.kind,
        mode: b.mode,
        limit: b.capacity,
        charged: out[o]!,
        remaining: out[o + 1]!,
        resetMs: out[o + 2]!,
        fits: out[o + 3] === 1,
        waitMs: out[o + 4]!,
      };
      if (this.#minRoom !== undefined) this.#noteRoom(b.key, r.remaining, atMs);
      return b.refill.type === "window" ? { ...r, windowStartMs: out[o + 5]! } : r;
    });
    return {
      allowed: out[0] === 1,
      retryAfterMs: out[1]!,
      exceedsCapacity: out[2] === 1,
      buckets: results,
      wouldBlock: wouldBlockOf(results),
    };
  }

  /**
   * True when, by the answers of the last `ROOM_MAX_AGE_MS`, every enforced bucket of `req` keeps
   * at least `minRoom` of its limit after this request; the request's cost is then taken from that
   * room at once, so requests started early meanwhile count too. Another gateway's traffic since
   * the last answer is what `minRoom` leaves room for; if it used the room up, Redis refuses the
   * reservation and the caller cancels what it started.
   */
  claimRoom(req: ReserveRequest): boolean {
    const minRoom = this.#minRoom;
    if (minRoom === undefined) return false;
    const now = Date.now();
    for (const b of req.buckets) {
      if (b.mode !== "enforce") continue;
      const room = this.#room.get(b.key);
      if (!room || now - room.atMs > ROOM_MAX_AGE_MS) return false;
      if (room.remaining - b.cost < b.capacity * minRoom) return false;
    }
    for (const b of req.buckets) {
      const room = this.#room.get(b.key);
      if (room) room.remaining -= b.cost;
    }
    return true;
  }

  #noteRoom(key: string, remaining: number, atMs: number): void {
    const room = this.#room.get(key);
    if (room) {
      room.remaining = remaining;
      room.atMs = atMs;
      return;
    }
    if (this.#room.size >= ROOM_MAX_KEYS) this.#room.clear();
    this.#room.set(key, { remaining, atMs });
  }

  /**
   * Settlements wait (at most `SETTLE_DELAY_MS`) for the next decision of this gateway and go to
   * Redis in its script, before its buckets: under traffic a request costs one script, not two.
   * Resolves once the adjustments are written.
   */
  settle(adjustments: readonly Adjustment[]): Promise<void> {
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const a of adjustments) {
      validateBucket(a);
      if (a.delta === 0) continue;
      keys.push(this.#prefix + a.key);
      args.push(...specArgs(a), a.delta, a.charged, a.windowStartMs ?? 0);
    }
    if (keys.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#settlements.push({ keys, args, resolve, reject });
      this.#settlementTimer ??= setTimeout(() => {
        this.#settlementTimer = undefined;
        void this.#withSettlements(SETTLE, [], []).catch(() => {});
      }, SETTLE_DELAY_MS);
    });
  }

  /** Runs `s` with the waiting settlements in front of its own keys and arguments. */
  async #withSettlements(s: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    const waiting = this.#settlements;
    if (waiting.length === 0) return this.#run(s, keys, [0, ...args]);
    this.#settlements = [];
    if (this.#settlementTimer) clearTimeout(this.#settlementTimer);
    this.#settlementTimer = undefined;
    const allKeys: string[] = [];
    const allArgs: Array<string | number> = [waiting.reduce((n, w) => n + w.keys.length, 0)];
    for (const w of waiting) {
      allKeys.push(...w.keys);
      allArgs.push(...w.args);
    }
    allKeys.push(...keys);
    allArgs.push(...args);
    try {
      const out = await this.#run(s, allKeys, allArgs);
      for (const w of waiting) w.resolve();
      return out;
    } catch (err) {
      for (const w of waiting) w.reject(err);
      throw err;
    }
  }

  async acquire(key: string, limit: number, ttlMs: number): Promise<string | null> {
    const id = randomUUID();
    const ok = await this.#run(ACQUIRE, [this.#prefix + key], [limit, ttlMs, id]);
    return ok === 1 ? id : null;
  }

  async release(key: string, leaseId: string): Promise<void> {
    try {
      await this.#client.zrem(this.#prefix + key, leaseId);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Writes the settlements still waiting (when Redis answers), then disconnects. */
  async close(): Promise<void> {
    if (this.#settlements.length > 0) await this.#withSettlements(SETTLE, [], []).catch(() => {});
    this.#client.disconnect();
  }

  async #run(s: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await evalScript(this.#client, s, keys, args);
    } catch (err) {
      throw unavailable(err);
    }
  }
}
