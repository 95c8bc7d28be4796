/**
 * The receiving side of an NSQ queue handle: one connection per nsqd and priority class, a buffer of
 * messages nsqd pushed, and `receive`. Connections are opened on the first receive (a publish-only
 * handle has none) and keep RDY at 0 unless a receive is waiting, so nsqd pushes a message only to
 * a handle that asked for it. A receive first reads `/stats` and asks each connection for what is
 * queued there now (highest class first), then, when nothing was, opens RDY and waits for a push.
 */

import type { Message } from "nsqjs";
import { newLeaseId } from "../../core/ids.js";
import type { NsqdNode, NsqQueueConfig } from "./nsq-config.js";
import { ConsumerConn } from "./nsq-conn.js";
import { decodeEnvelope } from "./nsq-envelope.js";
import { lookupNodes, type NodeStats, nodeStats } from "./nsq-http.js";
import type { Held, LeaseTable } from "./nsq-leases.js";
import type { Delivery, ReceiveOptions } from "./types.js";

interface Buffered {
  readonly conn: ConsumerConn;
  readonly generation: number;
  readonly msg: Message;
  readonly seq: number;
}

interface Taken {
  readonly delivery: Delivery;
  readonly cls: number;
  readonly notBefore: number;
  readonly seq: number;
}

/** A message that reached this handle after its receive ended waits this long for the next one. */
const HOLD_MS = 1_000;
/** Rounds of "look at the stats, take what they show" in one receive before it waits for pushes. */
const FETCH_ROUNDS = 4;

export interface ConsumerDeps {
  readonly cfg: NsqQueueConfig;
  readonly topics: { classes: string[]; dead: string };
  readonly leases: LeaseTable;
  /** Moves a delivery that must not be handed out (exhausted, malformed) to the dead letters. */
  deadLetter(d: Delivery, reason: string): Promise<boolean>;
  onError(err: Error): void;
}

export class NsqConsumer {
  readonly #cfg: NsqQueueConfig;
  readonly #topics: { classes: string[]; dead: string };
  readonly #leases: LeaseTable;
  readonly #deps: ConsumerDeps;
  readonly #onError: (err: Error) => void;
  readonly #discovered = new Map<string, NsqdNode>();
  readonly #conns = new Map<string, ConsumerConn>();
  readonly #waiters = new Set<() => void>();
  #buffer: Buffered[] = [];
  #arrivals = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #active = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  #lookupTimer: NodeJS.Timeout | undefined;
  #consuming = false;
  #closed = false;

  constructor(deps: ConsumerDeps) {
    this.#deps = deps;
    this.#cfg = deps.cfg;
    this.#topics = deps.topics;
    this.#leases = deps.leases;
    this.#onError = (err) => deps.onError(err);
  }

  receive(opts: ReceiveOptions): Promise<Delivery[]> {
    if (opts.max <= 0 || this.#closed) return Promise.resolve([]);
    // One receive at a time per handle: the RDY counts and the buffer are the handle's.
    const run = this.#chain.then(() => this.#receive(opts));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #receive(opts: ReceiveOptions): Promise<Delivery[]> {
    const until = Date.now() + opts.waitMs;
    this.#active++;
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    try {
      await this.#startConsuming();
      const out: Taken[] = [];
      const stop = () => this.#closed || opts.signal?.aborted === true;
      out.push(...this.#take(opts.max, opts.leaseMs));
      for (let round = 0; round < FETCH_ROUNDS && out.length < opts.max && !stop(); round++) {
        const plan = await this.#plan(opts.max - out.length);
        if (plan.size === 0) break;
        await this.#fetch(plan, opts.signal);
        out.push(...this.#take(opts.max - out.length, opts.leaseMs));
      }
      while (out.length === 0 && !stop() && Date.now() < until) {
        await this.#awaitPush(opts.max, until, opts.signal);
        out.push(...this.#take(opts.max, opts.leaseMs));
      }
      out.sort(
        (a, b) =>
          a.cls - b.cls ||
          b.delivery.priority - a.delivery.priority ||
          a.notBefore - b.notBefore ||
          a.seq - b.seq,
      );
      return out.map((t) => t.delivery);
    } finally {
      this.#active--;
      this.#holdLater();
    }
  }

  /** How many messages to ask each connection for: what `/stats` shows ready, highest class first. */
  async #plan(want: number): Promise<Map<ConsumerConn, number>> {
    const plan = new Map<ConsumerConn, number>();
    const nodes = this.nodes();
    const stats = await Promise.all(
      nodes.map((n) =>
        nodeStats(n.httpAddress, this.#topics.classes, this.#cfg.channel, this.#cfg.requestTimeoutMs).catch(
          () => undefined,
        ),
      ),
    );
    let left = want;
    this.#topics.classes.forEach((topic, cls) => {
      nodes.forEach((node, i) => {
        const counts = (stats[i] as NodeStats | undefined)?.topics.get(topic);
        const conn = this.#conns.get(`${node.tcpAddress}|${cls}`);
        if (!counts || !conn?.ready || left <= 0) return;
        const n = Math.min(left, counts.depth + counts.topicDepth);
        if (n > 0) plan.set(conn, n);
        left -= n;
      });
    });
    return plan;
  }

  /** Opens RDY on the planned connections and waits (up to `fetchWaitMs`) for those messages to arrive. */
  async #fetch(plan: Map<ConsumerConn, number>, signal: AbortSignal | undefined): Promise<void> {
    const start = this.#arrivals;
    let expected = 0;
    for (const [conn, n] of plan) {
      conn.setRdy(this.#held(conn) + n);
      expected += n;
    }
    const until = Date.now() + this.#cfg.fetchWaitMs;
    while (this.#arrivals - start < expected && Date.now() < until && !this.#closed && !signal?.aborted) {
      await this.#wait(until - Date.now(), this.#arrivals, signal);
    }
    for (const conn of plan.keys()) conn.setRdy(0);
  }

  /** Nothing was queued: opens RDY on every connection and waits for the first push (or the end of the wait). */
  async #awaitPush(max: number, until: number, signal: AbortSignal | undefined): Promise<void> {
    const seen = this.#arrivals;
    const conns = [...this.#conns.values()];
    for (const c of conns) c.setRdy(this.#held(c) + max);
    try {
      while (this.#arrivals === seen && Date.now() < until && !this.#closed && !signal?.aborted) {
        await this.#wait(until - Date.now(), this.#arrivals, signal);
      }
    } finally {
      for (const c of conns) c.setRdy(0);
    }
  }

  /** Leases up to `max` buffered messages; sets aside early, exhausted and foreign ones. */
  #take(max: number, leaseMs: number): Taken[] {
    const out: Taken[] = [];
    const rest: Buffered[] = [];
    this.#buffer.sort((a, b) => a.conn.cls - b.conn.cls || a.seq - b.seq);
    for (const b of this.#buffer) {
      if (b.generation !== b.conn.generation || !b.conn.ready) continue; // nsqd times it out and sends it again
      if (out.length >= max) {
        rest.push(b);
        continue;
      }
      const t = this.#lease(b, leaseMs);
      if (t) out.push(t);
    }
    this.#buffer = rest;
    return out;
  }

  #lease(b: Buffered, leaseMs: number): Taken | undefined {
    const { conn, msg } = b;
    const env = decodeEnvelope(msg.body);
    const now = Date.now();
    const held: Held = {
      conn,
      generation: b.generation,
      msg,
      env: env ?? { id: `nsq:${msg.id}`, payload: msg.body.toString("utf8"), priority: 0, notBefore: 0 },
      serverUntil: msg.receivedOn + conn.msgTimeoutMs,
      hardUntil: msg.receivedOn + conn.maxMsgTimeoutMs,
    };
    if (env && env.notBefore > now) {
      // Early: a defer longer than max-req-timeout, or a deferred message nsqd wrote to disk.
      const delay = Math.min(env.notBefore - now, this.#cfg.maxReqTimeoutMs);
      conn.respond(b.generation, () => msg.requeue(delay, false));
      return undefined;
    }
    const leaseId = newLeaseId();
    this.#leases.add(leaseId, held, leaseMs);
    const max = this.#cfg.maxAttempts;
    const delivery: Delivery = Object.freeze({
      id: held.env.id,
      payload: held.env.payload,
      priority: held.env.priority,
      deliveries: msg.attempts,
      leaseId,
      ...(env && max > 0 && msg.attempts > max
        ? {
            exhausted: `max_attempts: delivered ${msg.attempts - 1} times without being settled (maxAttempts ${max})`,
          }
        : {}),
    });
    if (env) return { delivery, cls: conn.cls, notBefore: held.env.notBefore, seq: b.seq };
    // Not one of this queue's messages: there is no job to end, so it goes to the dead letters here.
    // If this fails the message times out and the next delivery tries again.
    this.#deps
      .deadLetter(delivery, "malformed: not a Switchyard queue message")
      .catch((err: unknown) => this.#onError(err as Error));
    return undefined;
  }

  /** Gives buffered messages back and closes the connections. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    clearTimeout(this.#holdTimer);
    clearTimeout(this.#lookupTimer);
    this.#giveBack();
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
  }

  /** Static nodes plus those nsqlookupd listed. */
  nodes(): NsqdNode[] {
    const byTcp = new Map<string, NsqdNode>();
    for (const n of this.#cfg.nsqd) byTcp.set(n.tcpAddress, n);
    for (const n of this.#discovered.values()) if (!byTcp.has(n.tcpAddress)) byTcp.set(n.tcpAddress, n);
    return [...byTcp.values()];
  }

  /** Opens the consumer connections on the first receive (a publish-only handle has none). */
  async #startConsuming(): Promise<void> {
    if (this.#consuming || this.#closed) return;
    this.#consuming = true;
    if (this.#cfg.lookupdHttpAddresses.length > 0) {
      await this.#lookup();
      const poll = () => {
        this.#lookupTimer = setTimeout(
          () => void this.#lookup().finally(poll),
          this.#cfg.lookupdPollIntervalMs,
        );
        this.#lookupTimer.unref();
      };
      poll();
    }
    this.#connectAll();
    // The first receive waits (bounded) for the subscriptions, so that it sees what is queued.
    const until = Date.now() + this.#cfg.requestTimeoutMs;
    while ([...this.#conns.values()].some((c) => !c.ready) && Date.now() < until && !this.#closed) {
      await this.#wait(Math.min(50, until - Date.now()), this.#arrivals, undefined);
    }
  }

  async #lookup(): Promise<void> {
    const asks = this.#cfg.lookupdHttpAddresses.flatMap((l) =>
      [...this.#topics.classes, this.#topics.dead].map((t) => lookupNodes(l, t, this.#cfg.requestTimeoutMs)),
    );
    for (const r of await Promise.allSettled(asks)) {
      if (r.status === "rejected")
        this.#onError(r.reason instanceof Error ? r.reason : new Error(String(r.reason)));
      else for (const n of r.value) this.#discovered.set(n.tcpAddress, n);
    }
    if (!this.#closed && this.#consuming) this.#connectAll();
  }

  #connectAll(): void {
    if (this.#closed) return;
    for (const node of this.nodes()) {
      this.#topics.classes.forEach((topic, cls) => {
        const key = `${node.tcpAddress}|${cls}`;
        if (this.#conns.has(key)) return;
        const conn = new ConsumerConn(this.#cfg, node, topic, cls, {
          message: (c, msg) => this.#arrived(c, msg),
          up: () => this.wake(),
          error: (err) => this.#onError(err),
        });
        this.#conns.set(key, conn);
      });
    }
  }

  #arrived(conn: ConsumerConn, msg: Message): void {
    this.#buffer.push({ conn, generation: conn.generation, msg, seq: this.#arrivals++ });
    if (this.#active === 0) this.#holdLater();
    this.wake();
  }

  /** Messages in flight to this handle on `conn`: leased ones and buffered ones. */
  #held(conn: ConsumerConn): number {
    let n = this.#leases.heldOn(conn);
    for (const b of this.#buffer) if (b.conn === conn && b.generation === conn.generation) n++;
    return n;
  }

  /** Buffered messages no receive took within HOLD_MS go back to the channel. */
  #holdLater(): void {
    if (this.#buffer.length === 0 || this.#active > 0 || this.#holdTimer) return;
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = undefined;
      if (this.#active === 0) this.#giveBack();
    }, HOLD_MS);
    this.#holdTimer.unref();
  }

  #giveBack(): void {
    for (const b of this.#buffer) b.conn.respond(b.generation, () => b.msg.requeue(0, false));
    this.#buffer = [];
  }

  /** Wakes waiting receives (a lease was handed back, a connection came up). */
  wake(): void {
    for (const w of this.#waiters) w();
  }

  /** Waits up to `ms`, or until an arrival after `seen`, a wake, an abort or close. */
  #wait(ms: number, seen: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#arrivals !== seen || this.#closed || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener("abort", done);
    });
  }
}
