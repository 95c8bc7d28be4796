/**
 * One NATS connection for a queue handle: built from the config, it reconnects for ever with a wait
 * that grows while an outage lasts, and tells the queue whether it is up (so that pulls are not sent
 * into a dead socket) and when it came back (so that waiting consumers look again at once).
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { GatewayError } from "../../core/errors.js";
import type { NatsQueueConfig } from "./nats-config.js";

/** `queue_unavailable` with `retry-after: 1`: the client reconnects by itself, so a retry soon may succeed. */
export function queueUnavailable(what: string, cause: unknown): GatewayError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new GatewayError("queue_unavailable", `The NATS job queue ${what}: ${detail}`, {
    cause,
    retryAfterSeconds: 1,
  });
}

export function connectionOptions(cfg: NatsQueueConfig, reconnectWait: () => number): NodeConnectionOptions {
  const tls = cfg.tls;
  return {
    servers: cfg.servers,
    name: cfg.name,
    ...(cfg.user === undefined ? {} : { user: cfg.user, pass: cfg.password }),
    ...(cfg.token === undefined ? {} : { token: cfg.token }),
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ...(tls.caFile === undefined ? {} : { caFile: tls.caFile }),
            ...(tls.certFile === undefined ? {} : { certFile: tls.certFile, keyFile: tls.keyFile }),
            handshakeFirst: tls.handshakeFirst,
          },
        }),
    timeout: cfg.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectDelayHandler: reconnectWait,
    // A silent peer (network cut, not a closed socket) is noticed within about half a minute.
    pingInterval: 10_000,
    maxPingOut: 3,
    // Without this the client builds an Error (with its stack) ahead of every request and
    // subscription timer, in case it fails: about 5% of a gateway's CPU per job submission.
    noAsyncTraces: true,
  };
}

export class NatsLink {
  readonly nc: NatsConnection;
  #up = true;
  #downSince = 0;
  readonly #upWaiters = new Set<() => void>();
  readonly #onUp: () => void;
  readonly #onError: (err: Error) => void;

  private constructor(nc: NatsConnection, onUp: () => void, onError: (err: Error) => void) {
    this.nc = nc;
    this.#onUp = onUp;
    this.#onError = onError;
  }

  /** Connects (bounded by `connectTimeoutMs`); rejects with `queue_unavailable`. */
  static async open(
    cfg: NatsQueueConfig,
    onUp: () => void,
    onError: (err: Error) => void = () => {},
  ): Promise<NatsLink> {
    let link: NatsLink | undefined;
    const wait = () => link?.reconnectWait(cfg) ?? cfg.reconnectWaitMs;
    let nc: NatsConnection;
    try {
      nc = await connect(connectionOptions(cfg, wait));
    } catch (err) {
      throw queueUnavailable(`could not connect to ${cfg.servers.join(", ")}`, err);
    }
    link = new NatsLink(nc, onUp, onError);
    void link.#watch();
    return link;
  }

  /** True while connected (publishes and pulls go out at once). */
  get up(): boolean {
    return this.#up && !this.nc.isClosed();
  }

  /** Resolves true once connected, or false after `ms` (or when the connection is closed). */
  waitUp(ms: number): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    if (ms <= 0 || this.nc.isClosed()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#upWaiters.delete(done);
        resolve(this.up);
      };
      const timer = setTimeout(done, ms);
      this.#upWaiters.add(done);
    });
  }

  /** Grows with the outage: half the time down so far, within [reconnectWaitMs, reconnectMaxWaitMs], plus up to 20% jitter. */
  reconnectWait(cfg: NatsQueueConfig): number {
    const down = this.#downSince === 0 ? 0 : Date.now() - this.#downSince;
    const base = Math.min(cfg.reconnectMaxWaitMs, Math.max(cfg.reconnectWaitMs, down / 2));
    return Math.round(base * (1 + Math.random() * 0.2));
  }

  async #watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect" || s.type === "staleConnection") {
        if (this.#up) this.#downSince = Date.now();
        this.#up = false;
        this.#onError(
          new Error(`NATS connection to ${"server" in s ? s.server : "the server"} lost; reconnecting`),
        );
      } else if (s.type === "reconnect") {
        this.#up = true;
        this.#downSince = 0;
        for (const w of this.#upWaiters) w();
        this.#onUp();
      } else if (s.type === "error") {
        this.#onError(s.error);
      }
    }
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.close();
    for (const w of this.#upWaiters) w();
  }
}
