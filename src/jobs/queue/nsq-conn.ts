/**
 * One consumer connection of an NSQ queue handle: a TCP connection to one nsqd, subscribed to one
 * priority-class topic through the queue's channel. It reconnects for ever with a wait that grows
 * while an outage lasts, and keeps the RDY count the handle asks for (0 while nobody receives, so
 * that nsqd hands messages only to handles that are waiting for them). Each successful connection
 * is a new `generation`: leases of messages from an earlier one are void, because nsqd only takes
 * FIN / REQ / TOUCH on the connection that received the message.
 */
import { hostname } from "node:os";
import { type Message, NSQDConnection } from "nsqjs";
import type { NsqdNode, NsqQueueConfig } from "./nsq-config.js";

export interface ConnEvents {
  message(conn: ConsumerConn, msg: Message): void;
  /** Subscribed (again): waiting receives may look at once. */
  up(conn: ConsumerConn): void;
  error(err: Error): void;
}

/** Splits `host:port` / `[v6]:port`. */
export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(address.slice(at + 1)) };
}

export class ConsumerConn {
  readonly node: NsqdNode;
  readonly topic: string;
  /** Priority class of the topic (0 = highest). */
  readonly cls: number;
  #nsq: NSQDConnection | undefined;
  #ready = false;
  #generation = 0;
  #rdy = 0;
  #want = 0;
  #closed = false;
  #downSince = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #cfg: NsqQueueConfig;
  readonly #events: ConnEvents;

  constructor(cfg: NsqQueueConfig, node: NsqdNode, topic: string, cls: number, events: ConnEvents) {
    this.#cfg = cfg;
    this.node = node;
    this.topic = topic;
    this.cls = cls;
    this.#events = events;
    this.#connect();
  }

  /** True while subscribed. */
  get ready(): boolean {
    return this.#ready && !this.#closed;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The server's max in-flight per connection (from IDENTIFY; 2500 by default). */
  get maxRdy(): number {
    return this.#nsq?.maxRdyCount || 2_500;
  }

  /** The connection's msg_timeout and the server's max-msg-timeout (from IDENTIFY). */
  get msgTimeoutMs(): number {
    return this.#nsq?.msgTimeout || this.#cfg.msgTimeoutMs;
  }

  get maxMsgTimeoutMs(): number {
    return this.#nsq?.maxMsgTimeout || 900_000;
  }

  /** Asks nsqd for up to `n` messages in flight on this connection (0 = send nothing more). */
  setRdy(n: number): void {
    this.#want = Math.max(0, Math.min(Math.floor(n), this.maxRdy));
    if (!this.ready || this.#want === this.#rdy) return;
    this.#rdy = this.#want;
    try {
      this.#nsq?.setRdy(this.#rdy);
    } catch (err) {
      this.#events.error(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Runs `fn` (a FIN / REQ / TOUCH) when the message came on the current, live connection. */
  respond(generation: number, fn: () => void): boolean {
    if (!this.ready || generation !== this.#generation) return false;
    fn();
    return true;
  }

  close(): void {
    this.#closed = true;
    this.#ready = false;
    clearTimeout(this.#timer);
    const nsq = this.#nsq;
    this.#nsq = undefined;
    try {
      nsq?.close();
    } catch {
      nsq?.destroy();
    }
  }

  #connect(): void {
    if (this.#closed) return;
    const { host, port } = splitAddress(this.node.tcpAddress);
    const nsq = new NSQDConnection(host, port, this.topic, this.#cfg.channel, {
      clientId: `switchyard-${hostname().split(".")[0]}-${process.pid}`.slice(0, 64),
      messageTimeout: this.#cfg.msgTimeoutMs,
      heartbeatInterval: Math.round(this.#cfg.heartbeatIntervalMs / 1_000),
    });
    this.#nsq = nsq;
    let gone = false;
    nsq.on(NSQDConnection.READY, () => {
      if (this.#nsq !== nsq) return;
      this.#ready = true;
      this.#downSince = 0;
      this.#generation++;
      this.#rdy = 0;
      this.setRdy(this.#want);
      this.#events.up(this);
    });
    nsq.on(NSQDConnection.MESSAGE, (msg) => {
      if (this.#nsq === nsq) this.#events.message(this, msg);
    });
    const lost = () => {
      if (gone || this.#nsq !== nsq) return;
      gone = true;
      this.#ready = false;
      try {
        nsq.destroy();
      } catch {
        // never connected: no socket to destroy
      }
      if (this.#downSince === 0) this.#downSince = Date.now();
      this.#retry();
    };
    nsq.on(NSQDConnection.CLOSED, lost);
    nsq.on(NSQDConnection.ERROR, (err) => this.#events.error(err));
    nsq.on(NSQDConnection.CONNECTION_ERROR, (err) => {
      this.#events.error(err);
      lost();
    });
    nsq.connect();
  }

  /** Grows with the outage: half the time down so far, within [reconnectWaitMs, reconnectMaxWaitMs], plus up to 20% jitter. */
  #retry(): void {
    if (this.#closed) return;
    const down = Date.now() - this.#downSince;
    const base = Math.min(this.#cfg.reconnectMaxWaitMs, Math.max(this.#cfg.reconnectWaitMs, down / 2));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), Math.round(base * (1 + Math.random() * 0.2)));
    this.#timer.unref();
  }
}
