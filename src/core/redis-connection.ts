/**
 * How Switchyard talks to Redis (the Redis job queue and the Redis rate-limit store): a client that
 * fails fast while Redis is away and reconnects in the background, Lua scripts run by EVALSHA with
 * EVAL as the fallback, and a wait for the first connection.
 */
import { createHash } from "node:crypto";
import type { Redis, RedisOptions } from "ioredis";

export interface FailFastOptions {
  /** Longest wait for one reply. */
  commandTimeoutMs: number;
  /** Longest wait for a TCP (and TLS) connection. */
  connectTimeoutMs: number;
}

/**
 * Client options under which a call made while Redis is unreachable rejects at once (no offline
 * queue, no retries, nothing re-sent after a reconnect) or after `commandTimeoutMs`; the client
 * reconnects by itself, waiting 100 ms growing to 1 s between tries.
 */
export function failFastOptions(o: FailFastOptions): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: o.commandTimeoutMs,
    connectTimeout: o.connectTimeoutMs,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
  };
}

/** A Lua script with its SHA-1, the name EVALSHA knows it by. */
export interface LuaScript {
  readonly src: string;
  readonly sha: string;
}

export function luaScript(src: string): LuaScript {
  return { src, sha: createHash("sha1").update(src).digest("hex") };
}

/** EVALSHA, then EVAL when Redis does not know the script (after a restart or SCRIPT FLUSH). */
export async function evalScript(
  client: Redis,
  s: LuaScript,
  keys: string[],
  args: Array<string | number>,
): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return await client.eval(s.src, keys.length, ...keys, ...args);
  }
}

/**
 * Resolves once `client` is connected; rejects with what `timedOut` makes of the timeout after `timeoutMs`. Calls
 * made before then fail fast (see `failFastOptions`).
 */
export async function waitReady(
  client: Redis,
  timeoutMs: number,
  timedOut: (err: Error) => Error,
): Promise<void> {
  if (client.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(timedOut(new Error(`not connected within ${timeoutMs} ms`)));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", onReady);
  });
}
