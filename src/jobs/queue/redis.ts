/**
 * The job queue on Redis Streams (distributed profile). Messages wait in a schedule (sorted set by
 * due time), move into one stream per priority when due, and are read through a consumer group;
 * leases are the group's pending entries plus a deadline per message. Every operation is one Lua
 * script (EVALSHA, EVAL when Redis lost its script cache), so it is atomic and one round trip.
 * Redis `TIME` is the clock of leases and delays. Layout and command mapping: docs/queue-redis.md.
 *
 * When Redis cannot be reached, calls reject at once (no offline queue) or after `commandTimeoutMs`
 * with `queue_unavailable`; `receive` instead waits (up to its `waitMs`) and returns nothing. The
 * client reconnects in the background by itself.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";
import { GatewayError } from "../../core/errors.js";
import { newLeaseId } from "../../core/ids.js";
import {
  evalScript,
  failFastOptions,
  type LuaScript,
  luaScript,
  waitReady,
} from "../../core/redis-connection.js";
import type { RedisQueueConfig } from "./redis-config.js";
import { LUA_FORGET, LUA_PUBLISH, LUA_RECEIVE, LUA_SETTLE, LUA_STATS } from "./redis-lua.js";
import type { DeadLetter, Delivery, PublishOptions, Queue, QueueStats, ReceiveOptions } from "./types.js";

export interface RedisQueueOptions {
  /** How often an idle consumer looks again when no wake-up arrives (wake-ups come by pub/sub). */
  pollIntervalMs?: number;
  /** Connection errors (the client keeps reconnecting); for logs and metrics. */
  onError?: (err: Error) => void;
}

/** The consumer group every worker reads through. */
const GROUP = "switchyard";
/** Most messages one `receive` takes, and most dead letters one call lists (bounds one script). */
const MAX_BATCH = 1_000;
/** Pause between attempts while Redis is unreachable (a reconnect wakes the wait earlier). */
const OUTAGE_RETRY_MS = 500;

const PUBLISH = luaScript(LUA_PUBLISH);
const RECEIVE = luaScript(LUA_RECEIVE);
const SETTLE = luaScript(LUA_SETTLE);
const STATS = luaScript(LUA_STATS);
const FORGET = luaScript(LUA_FORGET);

function unavailable(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new GatewayError("queue_unavailable", `job queue (redis) unavailable: ${msg}`, {
    cause: err,
    retryAfterSeconds: 1,
  });
}

/** A reply error (the server answered with an error) is a fault to report, not an outage to wait out. */
function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === "ReplyError";
}

function clientOptions(cfg: RedisQueueConfig): RedisOptions {
  const tls = cfg.tls
    ? {
        ...(cfg.tls.caFile ? { ca: readFileSync(cfg.tls.caFile) } : {}),
        ...(cfg.tls.serverName ? { servername: cfg.tls.serverName } : {}),
      }
    : undefined;
  // Wake-up subscriptions are made again by the "ready" handler, not by the client.
  return { ...failFastOptions(cfg), autoResubscribe: false, ...(tls ? { tls } : {}) };
}

class Keys {
  readonly base: string;
  readonly seq: string;
  readonly sched: string;
  readonly prios: string;
  readonly leases: string;
  readonly dead: string;
  readonly wake: string;

  constructor(keyPrefix: string, name: string) {
    this.base = `${keyPrefix}{${name}}:`;
    this.seq = `${this.base}seq`;
    this.sched = `${this.base}sched`;
    this.prios = `${this.base}prios`;
    this.leases = `${this.base}leases`;
    this.dead = `${this.base}dead`;
    this.wake = `${this.base}wake`;
  }

  msg(id: string): string {
    return `${this.base}m:${id}`;
  }
}

type SettleOp = "ack" | "nack" | "dead" | "extend";

export class RedisQueue implements Queue {
  readonly kind = "redis";
  readonly #cfg: RedisQueueConfig;
  readonly #client: Redis;
  readonly #sub: Redis;
  readonly #k: Keys;
  readonly #consumer = `c-${randomBytes(6).toString("hex")}`;
  readonly #pollMs: number;
  readonly #wake = new EventEmitter();
  readonly #closing = new AbortController();

  constructor(cfg: RedisQueueConfig, opts: RedisQueueOptions = {}) {
    this.#cfg = cfg;
    this.#k = new Keys(cfg.keyPrefix, cfg.name);
    this.#pollMs = opts.pollIntervalMs ?? 1_000;
    this.#wake.setMaxListeners(0);
    const onError = (err: Error) => opts.onError?.(err);
    this.#client = new Redis(cfg.url, clientOptions(cfg));
    this.#client.on("error", onError);
    this.#client.on("ready", () => this.#wake.emit("wake"));
    // Wake-ups: every publish and nack PUBLISHes on the wake channel; waiters look again.
    this.#sub = new Redis(cfg.url, clientOptions(cfg));
    this.#sub.on("error", onError);
    this.#sub.on("ready", () => {
      this.#sub.subscribe(this.#k.wake).catch((err: unknown) => onError(unavailable(err)));
    });
    this.#sub.on("message", () => this.#wake.emit("wake"));
  }

  /** Resolves once connected, or rejects with `queue_unavailable` after `timeoutMs`. */
  ready(timeoutMs = this.#cfg.connectTimeoutMs): Promise<void> {
    return waitReady(this.#client, timeoutMs, unavailable);
  }

  async publish(id: string, payload: string, opts: PublishOptions = {}): Promise<void> {
    const priority = opts.priority ?? 0;
    if (!Number.isSafeInteger(priority)) {
      throw new GatewayError("internal_error", `queue priority must be an integer, got ${priority}`);
    }
    const notBefore = opts.notBefore === undefined ? "" : String(Math.floor(opts.notBefore));
    const k = this.#k;
    await this.#run(PUBLISH, [k.msg(id), k.seq, k.sched, k.wake], [id, payload, String(priority), notBefore]);
  }

  async receive(opts: ReceiveOptions): Promise<Delivery[]> {
    const until = Date.now() + opts.waitMs;
    const max = Math.min(MAX_BATCH, Math.max(0, Math.floor(opts.max)));
    const leaseMs = Math.max(1, Math.ceil(opts.leaseMs));
    for (;;) {
      let nextInMs: number;
      try {
        const r = await this.#claim(max, leaseMs);
        if (r.got.length > 0) return r.got;
        nextInMs = r.nextInMs;
      } catch (err) {
        if (this.#closing.signal.aborted) return [];
        if (isReplyError(err)) throw unavailable(err);
        nextInMs = OUTAGE_RETRY_MS;
      }
      if (opts.signal?.aborted || this.#closing.signal.aborted || max === 0) return [];
      const left = until - Date.now();
      if (left <= 0) return [];
      await this.#wait(Math.min(left, nextInMs, this.#pollMs), opts.signal);
    }
  }

  async #claim(max: number, leaseMs: number): Promise<{ got: Delivery[]; nextInMs: number }> {
    const k = this.#k;
    const leaseBase = newLeaseId();
    const out = (await this.#eval(
      RECEIVE,
      [k.sched, k.prios, k.leases],
      [k.base, GROUP, this.#consumer, max, leaseMs, leaseBase, this.#cfg.promoteBatch],
    )) as Array<string | number>;
    const got: Delivery[] = [];
    for (let i = 1; i + 4 < out.length; i += 5) {
      got.push({
        id: String(out[i]),
        payload: String(out[i + 1]),
        priority: Number(out[i + 2]),
        deliveries: Number(out[i + 3]),
        leaseId: String(out[i + 4]),
      });
    }
    const wait = Number(out[0]);
    return { got, nextInMs: wait < 0 ? Number.POSITIVE_INFINITY : Math.max(1, wait) };
  }

  #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake.off("wake", done);
        signal?.removeEventListener("abort", done);
        this.#closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake.on("wake", done);
      signal?.addEventListener("abort", done);
      this.#closing.signal.addEventListener("abort", done);
    });
  }

  ack(d: Delivery): Promise<boolean> {
    return this.#settle("ack", d, []);
  }

  nack(d: Delivery, delayMs: number): Promise<boolean> {
    return this.#settle("nack", d, [Math.max(0, Math.ceil(delayMs))]);
  }

  deadLetter(d: Delivery, reason: string): Promise<boolean> {
    return this.#settle("dead", d, [reason, this.#cfg.deadLetterMaxLen]);
  }

  extend(d: Delivery, leaseMs: number): Promise<boolean> {
    return this.#settle("extend", d, [Math.max(1, Math.ceil(leaseMs))]);
  }

  async #settle(op: SettleOp, d: Delivery, extra: Array<string | number>): Promise<boolean> {
    const k = this.#k;
    const ok = await this.#run(
      SETTLE,
      [k.msg(d.id), k.seq, k.sched, k.prios, k.leases, k.dead, k.wake],
      [k.base, GROUP, this.#consumer, op, d.id, d.leaseId, ...extra],
    );
    return ok === 1;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const n = Math.min(MAX_BATCH * 10, Math.floor(limit));
    if (n <= 0) return [];
    let entries: Array<[string, string[]]>;
    try {
      entries = await this.#client.xrange(this.#k.dead, "-", "+", "COUNT", n);
    } catch (err) {
      throw unavailable(err);
    }
    return entries.map(([, fields]) => {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
      return {
        id: f.get("i") ?? "",
        payload: f.get("p") ?? "",
        reason: f.get("r") ?? "",
        deliveries: Number(f.get("n") ?? 0),
      };
    });
  }

  async stats(): Promise<QueueStats> {
    const k = this.#k;
    const r = (await this.#run(STATS, [k.sched, k.prios, k.leases, k.dead], [k.base])) as number[];
    return { ready: r[0] ?? 0, leased: r[1] ?? 0, dead: r[2] ?? 0 };
  }

  /**
   * Stops waits, leaves the consumer group where this consumer holds nothing, and closes the
   * connections. Leases still held stay in Redis and run out (another consumer takes over).
   */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    if (this.#client.status === "ready") {
      const k = this.#k;
      await this.#eval(FORGET, [k.prios], [k.base, GROUP, this.#consumer], true).catch(() => undefined);
    }
    this.#client.disconnect();
    this.#sub.disconnect();
  }

  async #run(s: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.#eval(s, keys, args);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async #eval(s: LuaScript, keys: string[], args: Array<string | number>, closing = false): Promise<unknown> {
    if (this.#closing.signal.aborted && !closing) throw new Error("the queue is closed");
    return evalScript(this.#client, s, keys, args);
  }
}

/** Opens the Redis queue and waits up to `connectTimeoutMs` for the connection (it keeps trying after). */
export async function openRedisQueue(
  cfg: RedisQueueConfig,
  opts: RedisQueueOptions = {},
): Promise<RedisQueue> {
  const q = new RedisQueue(cfg, opts);
  await q.ready().catch((err: unknown) => opts.onError?.(unavailable(err)));
  return q;
}
