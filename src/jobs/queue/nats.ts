import { hash } from "node:crypto";
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type PubAck,
} from "@nats-io/jetstream";
import { headers, type Msg, nanos, type Subscription } from "@nats-io/transport-node";
import { GatewayError } from "../../core/errors.js";
import { newLeaseId } from "../../core/ids.js";
import type { NatsQueueConfig } from "./nats-config.js";
import { H, headerNumber as num, readDeadLetters, readStats } from "./nats-inspect.js";
import { LeaseTable } from "./nats-leases.js";
import { NatsLink, queueUnavailable } from "./nats-link.js";
import { PullInbox, parseAckSubject } from "./nats-pull.js";
import { ensureTopology, type NatsNames, natsNames } from "./nats-topology.js";
import { checkHeaderId, headerText, Waiters } from "./net-common.js";
import { priorityClass } from "./net-config.js";
import type {
  AckOptions,
  DeadLetter,
  Delivery,
  PublishOptions,
  Queue,
  QueueStats,
  ReceiveOptions,
} from "./types.js";

export interface NatsQueueOptions {
  /** How often an idle consumer looks for work it was not told about (redeliveries, schedules). */
  pollIntervalMs?: number;
  /** Connection trouble (the client keeps reconnecting); for logs. */
  onError?: (err: Error) => void;
}

interface Pending {
  readonly delivery: Delivery;
  readonly notBefore: number;
  readonly seq: number;
}

/** A short subject token for a message id (schedules live on one subject per message). */
function idToken(id: string): string {
  return hash("sha256", id, "base64url").slice(0, 32);
}

/** The first publish try waits this long for JetStream's answer; each further try waits longer. */
const PUBLISH_TRY_MS = 1_000;
/** Pause between publish tries. */
const PUBLISH_PAUSE_MS = 100;

/**
 * The queue on NATS JetStream (see docs/queue-nats.md): a work-queue stream with file storage holds
 * ready messages on one subject per priority class, each read by a durable pull consumer with
 * explicit acks; `notBefore` in the future becomes a server-side message schedule (or a delayed
 * redelivery on servers before 2.12); dead letters go to a second stream. Publishes are confirmed
 * by the server and stored once per message id while that id's message is in the stream. Leases
 * are fenced by this handle (see nats-leases.ts): a lease belongs to the handle that received it.
 */
export class NatsQueue implements Queue {
  readonly kind = "nats";
  readonly #cfg: NatsQueueConfig;
  readonly #names: NatsNames;
  readonly #link: NatsLink;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #schedules: boolean;
  readonly #pollMs: number;
  readonly #leases: LeaseTable;
  readonly #pulls: PullInbox;
  readonly #waiters = new Waiters();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Wake-ups from other handles; subscribed on the first `receive` (a handle that only publishes needs none). */
  #wakeSub: Subscription | undefined;
  #wakes = 0;
  /** An announcement is due at the end of this turn of the event loop (one for all publishes in it). */
  #announcing = false;
  #closed = false;

  private constructor(
    cfg: NatsQueueConfig,
    link: NatsLink,
    jsm: JetStreamManager,
    schedules: boolean,
    opts: NatsQueueOptions,
  ) {
    this.#cfg = cfg;
    this.#names = natsNames(cfg);
    this.#link = link;
    this.#jsm = jsm;
    this.#js = jetstream(link.nc, { timeout: cfg.requestTimeoutMs });
    this.#schedules = schedules;
    this.#pollMs = opts.pollIntervalMs ?? 200;
    const nc = link.nc;
    this.#pulls = new PullInbox(nc);
    this.#leases = new LeaseTable(cfg.ackWaitMs, {
      confirm: async (reply, body) => {
        await nc.request(reply, body, { timeout: cfg.requestTimeoutMs });
      },
      send: (reply, body) => this.#send(reply, body),
      released: () => this.#announce(),
    });
  }

  /** Connects, sets up the streams and consumers, and returns the queue; rejects with `queue_unavailable`. */
  static async open(cfg: NatsQueueConfig, opts: NatsQueueOptions = {}): Promise<NatsQueue> {
    let queue: NatsQueue | undefined;
    const onUp = () => {
      if (queue) queue.#wake();
    };
    const link = await NatsLink.open(cfg, onUp, opts.onError);
    try {
      const jsm = await jetstreamManager(link.nc, { timeout: cfg.requestTimeoutMs });
      const { schedules } = await ensureTopology(jsm, cfg, natsNames(cfg), link.nc.info?.version);
      queue = new NatsQueue(cfg, link, jsm, schedules, opts);
      return queue;
    } catch (err) {
      await link.close();
      throw err instanceof GatewayError
        ? err
        : queueUnavailable(`could not set up stream ${cfg.stream}`, err);
    }
  }

  /** Whether future `notBefore` uses server-side message schedules (else delayed redelivery). */
  get usesSchedules(): boolean {
    return this.#schedules;
  }

  /**
   * Stores the message once: a publish whose id already has a message in the stream (ready, leased,
   * waiting out a nack, or scheduled) is a no-op, checked by the server (expected last sequence 0 on
   * the message's own subject), and `Nats-Msg-Id` de-duplicates within the duplicate window too.
   */
  async publish(id: string, payload: string, opts: PublishOptions = {}): Promise<void> {
    checkHeaderId(id, "NATS");
    if (this.#closed) throw queueUnavailable("is closed", new Error("publish after close"));
    const now = Date.now();
    const priority = opts.priority ?? 0;
    const notBefore = opts.notBefore ?? now;
    const token = idToken(id);
    const target = this.#names.ready(priorityClass(this.#cfg.priorityClasses, priority), token);
    const h = headers();
    h.set(H.id, id);
    h.set(H.priority, String(priority));
    h.set(H.notBefore, String(notBefore));
    const later = notBefore > now && this.#schedules;
    // While disconnected, wait for the reconnect within the time limit rather than hand the
    // client a publish it would drop on reconnecting.
    const deadline = now + this.#cfg.publishTimeoutMs;
    let ack: PubAck | undefined;
    let retried = false;
    // Just after a server restart JetStream may not answer yet (a timeout, no responders): the publish
    // is tried again within the time limit. The message id makes a repeated publish store one message.
    for (let tries = 1; ack === undefined; tries++) {
      if (!(await this.#link.waitUp(deadline - Date.now()))) {
        throw queueUnavailable(`did not store message ${id}`, new Error("not connected to any NATS server"));
      }
      try {
        ack = await this.#js.publish(later ? this.#names.scheduled(token) : target, payload, {
          msgID: id,
          headers: h,
          timeout: Math.max(1, Math.min(PUBLISH_TRY_MS * tries, deadline - Date.now())),
          // A schedule for this id is replaced (roll-up on its subject); a ready one blocks both.
          expect: {
            streamName: this.#names.stream,
            lastSubjectSequence: 0,
            lastSubjectSequenceSubject: target,
          },
          ...(later ? { schedule: { specification: new Date(notBefore), target } } : {}),
        });
      } catch (err) {
        if (err instanceof JetStreamApiError) {
          if (err.code === JetStreamApiCodes.StreamWrongLastSequence) return;
          throw queueUnavailable(`did not store message ${id}`, err);
        }
        if (deadline - Date.now() < PUBLISH_PAUSE_MS)
          throw queueUnavailable(`did not store message ${id}`, err);
        await new Promise((r) => setTimeout(r, PUBLISH_PAUSE_MS));
        retried = true;
      }
    }
    // A duplicate after a retry may be the first try's message, stored but never announced.
    if (!later && (!ack.duplicate || retried)) this.#announce();
  }

  async receive(opts: ReceiveOptions): Promise<Delivery[]> {
    if (opts.max <= 0) return [];
    if (this.#wakeSub === undefined && !this.#closed) {
      // Before the first pull, so a message published after that pull always wakes this handle.
      this.#wakeSub = this.#link.nc.subscribe(this.#names.wake, { callback: () => this.#wake() });
    }
    const until = Date.now() + opts.waitMs;
    let again = 0;
    for (;;) {
      if (this.#closed || opts.signal?.aborted) return [];
      const wakes = this.#wakes;
      const { got, diverted } = this.#link.up
        ? await this.#pull(opts.max, opts.leaseMs)
        : { got: [], diverted: 0 };
      if (got.length > 0) return got;
      // Messages set aside (not yet due, or dead-lettered) may hide ready ones behind them.
      if (diverted > 0 && again++ < 10) continue;
      const left = until - Date.now();
      if (left <= 0) return [];
      await this.#wait(Math.min(left, this.#pollMs), wakes, opts.signal);
    }
  }

  /** Pulls from each priority class, highest first, until `max` messages are leased. */
  async #pull(max: number, leaseMs: number): Promise<{ got: Delivery[]; diverted: number }> {
    const taken: Pending[] = [];
    let diverted = 0;
    for (let i = 0; i < this.#names.classes && taken.length < max; i++) {
      const pulledAt = Date.now();
      const msgs = await this.#pulls.pull(
        this.#names.stream,
        this.#names.consumer(i),
        max - taken.length,
        this.#cfg.requestTimeoutMs,
      );
      for (const m of msgs) {
        const p = this.#lease(m, leaseMs, pulledAt);
        if (p) taken.push(p);
        else diverted++;
      }
    }
    // Within what one pull took: higher priority first, then earlier notBefore, then stream order.
    taken.sort(
      (a, b) => b.delivery.priority - a.delivery.priority || a.notBefore - b.notBefore || a.seq - b.seq,
    );
    return { got: taken.map((p) => p.delivery), diverted };
  }

  /** Leases one pulled message (flagged `exhausted` past `maxDeliver`), or sets it aside (not yet due, malformed). */
  #lease(m: Msg, leaseMs: number, pulledAt: number): Pending | undefined {
    const info = parseAckSubject(m.reply);
    if (!info || !m.reply) return undefined;
    const h = m.headers;
    const notBefore = num(h, H.notBefore, 0);
    if (!this.#schedules && notBefore > Date.now()) {
      const delay = notBefore - Date.now();
      this.#send(m.reply, `-NAK ${JSON.stringify({ delay: nanos(delay) })}`);
      this.#wakeLater(delay);
      return undefined;
    }
    const leaseId = newLeaseId();
    this.#leases.add(leaseId, m.reply, leaseMs, pulledAt);
    const id = h?.get(H.id);
    if (!id) {
      // Not one of this queue's messages: there is no job to end, so it goes to the dead letters here
      // (if that fails, the lease runs out and the next delivery tries again).
      const bad = {
        id: `seq:${info.seq}`,
        payload: m.string(),
        priority: 0,
        deliveries: info.deliveries,
        leaseId,
      };
      this.deadLetter(bad, "malformed: a message without the Sy-Id header").catch(() => {});
      return undefined;
    }
    const max = this.#cfg.maxDeliver;
    const delivery: Delivery = Object.freeze({
      id,
      payload: m.string(),
      priority: num(h, H.priority, 0),
      deliveries: info.deliveries,
      leaseId,
      ...(max > 0 && info.deliveries > max
        ? {
            exhausted: `max_deliveries: delivered ${info.deliveries - 1} times without being settled (maxDeliver ${max})`,
          }
        : {}),
    });
    return { delivery, notBefore, seq: info.seq };
  }

  async ack(d: Delivery, opts?: AckOptions): Promise<boolean> {
    if (opts?.confirm === false) return this.#leases.end(d.leaseId, "+ACK");
    return this.#settle(d, "+ACK", true);
  }

  async nack(d: Delivery, delayMs: number): Promise<boolean> {
    const body = delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(delayMs) })}` : "-NAK";
    const ok = await this.#settle(d, body, true);
    if (ok && delayMs <= 0) this.#announce();
    else if (ok) this.#wakeLater(delayMs);
    return ok;
  }

  async deadLetter(d: Delivery, reason: string): Promise<boolean> {
    const lease = this.#leases.get(d.leaseId);
    const info = parseAckSubject(lease?.reply);
    if (!lease || !info) return false;
    const h = headers();
    h.set(H.id, headerText(d.id, 512));
    h.set(H.reason, headerText(reason, 1_000));
    h.set(H.deliveries, String(d.deliveries));
    h.set(H.priority, String(d.priority));
    try {
      await this.#js.publish(this.#names.dead, d.payload, {
        msgID: `${this.#names.stream}:${info.seq}`,
        headers: h,
        timeout: this.#cfg.publishTimeoutMs,
        expect: { streamName: this.#names.deadStream },
      });
    } catch (err) {
      throw queueUnavailable(`did not store dead letter ${d.id}`, err);
    }
    return this.#settle(d, "+ACK", true);
  }

  async extend(d: Delivery, leaseMs: number): Promise<boolean> {
    try {
      return await this.#leases.extend(d.leaseId, leaseMs);
    } catch (err) {
      throw queueUnavailable(`could not extend the lease of ${d.id}`, err);
    }
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    try {
      return await readDeadLetters(this.#jsm, this.#names, limit);
    } catch (err) {
      throw queueUnavailable("could not read the dead letters", err);
    }
  }

  async stats(): Promise<QueueStats> {
    try {
      return await readStats(this.#jsm, this.#names);
    } catch (err) {
      throw queueUnavailable("could not read its stream and consumer state", err);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#leases.clear();
    this.#pulls.close();
    try {
      this.#wakeSub?.unsubscribe();
    } catch {
      // already closed
    }
    await this.#link.close();
  }

  async #settle(d: Delivery, body: string, end: boolean): Promise<boolean> {
    try {
      return await this.#leases.settle(d.leaseId, body, end);
    } catch (err) {
      throw queueUnavailable(`could not confirm ${body.split(" ")[0]} for ${d.id}`, err);
    }
  }

  #send(reply: string, body: string): void {
    try {
      this.#link.nc.publish(reply, body);
    } catch {
      // closed: the server redelivers after ack_wait
    }
  }

  /**
   * Tells every consumer (all processes) that a message is ready now. Publishes confirmed together
   * (one read from the socket) share one announcement, sent once their continuations have run, so a
   * busy gateway wakes each worker once per batch instead of once per job.
   */
  #announce(): void {
    if (this.#announcing) return;
    this.#announcing = true;
    queueMicrotask(() => {
      this.#announcing = false;
      this.#send(this.#names.wake, "");
    });
  }

  #wake(): void {
    this.#wakes++;
    this.#waiters.wakeAll();
  }

  #wakeLater(ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#wake();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  /** Waits up to `ms`, or until a wake after `seen`, an abort or close. */
  #wait(ms: number, seen: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#wakes !== seen || this.#closed) return Promise.resolve();
    return this.#waiters.wait(ms, signal);
  }
}

/** Opens the NATS JetStream queue named by `jobs.queue` (kind `nats`). */
export function openNatsQueue(cfg: NatsQueueConfig, opts: NatsQueueOptions = {}): Promise<NatsQueue> {
  return NatsQueue.open(cfg, opts);
}
