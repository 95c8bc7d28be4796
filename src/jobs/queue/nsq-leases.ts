/**
 * The leases an NSQ queue handle holds. nsqd times a message out `msg_timeout` after its delivery
 * or last TOUCH (never later than `max-msg-timeout` after delivery) and does not say whether a FIN,
 * REQ or TOUCH was taken, so the handle fences leases itself: a lease is the caller's while its own
 * deadline (`leaseMs` from `receive` / `extend`), the server's deadline (less a safety margin) and
 * the hard cap lie ahead, and the connection that received the message is still the same one.
 * One shared timer hands back leases whose own deadline passed (REQ 0, delivered again at once)
 * and TOUCHes leases longer than `msg_timeout` every third of it.
 */
import type { Message } from "nsqjs";
import type { NsqdNode } from "./nsq-config.js";
import type { ConsumerConn } from "./nsq-conn.js";
import type { Envelope } from "./nsq-envelope.js";

/** A message this handle received and has not answered yet. */
export interface Held {
  readonly conn: ConsumerConn;
  readonly generation: number;
  readonly msg: Message;
  readonly env: Envelope;
  /** When nsqd times it out unless touched. */
  serverUntil: number;
  /** When nsqd times it out whatever happens (delivery + max-msg-timeout). */
  readonly hardUntil: number;
}

interface Lease extends Held {
  /** The caller's deadline. */
  until: number;
  /** Next TOUCH due for a lease that outlives the server's deadline. */
  keepaliveAt: number;
}

export class LeaseTable {
  readonly #leases = new Map<string, Lease>();
  readonly #msgTimeoutMs: number;
  readonly #marginMs: number;
  readonly #released: () => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** `released` is called after a lease ran out and its message was handed back. */
  constructor(msgTimeoutMs: number, released: () => void) {
    this.#msgTimeoutMs = msgTimeoutMs;
    this.#marginMs = Math.min(1_000, Math.floor(msgTimeoutMs / 10));
    this.#released = released;
  }

  add(leaseId: string, held: Held, leaseMs: number): void {
    const now = Date.now();
    this.#leases.set(leaseId, { ...held, until: now + leaseMs, keepaliveAt: now + this.#msgTimeoutMs / 3 });
    this.#schedule();
  }

  /** Messages held under a lease on `conn` that nsqd still counts in flight for it. */
  heldOn(conn: ConsumerConn): number {
    const now = Date.now();
    let n = 0;
    for (const l of this.#leases.values()) {
      if (l.conn === conn && l.generation === conn.generation && now < l.serverUntil) n++;
    }
    return n;
  }

  /**
   * Ends a valid lease with `answer` (FIN or REQ, written on the message's connection); false when
   * the lease ran out (the message may already be someone else's) and nothing was sent.
   */
  end(leaseId: string, answer: (msg: Message) => void): boolean {
    const l = this.#get(leaseId);
    if (!l) return false;
    this.#leases.delete(leaseId);
    this.#schedule();
    return l.conn.respond(l.generation, () => answer(l.msg));
  }

  /** The envelope of a valid lease (for dead-lettering before the FIN). */
  envelope(leaseId: string): Envelope | undefined {
    return this.#get(leaseId)?.env;
  }

  /** The nsqd a valid lease's message came from. */
  node(leaseId: string): NsqdNode | undefined {
    return this.#get(leaseId)?.conn.node;
  }

  /** Lengthens a valid lease to `leaseMs` from now (TOUCH); it still ends at the hard cap. */
  extend(leaseId: string, leaseMs: number): boolean {
    const l = this.#get(leaseId);
    if (!l) return false;
    if (!this.#touch(l)) return false;
    l.until = Date.now() + leaseMs;
    this.#schedule();
    return true;
  }

  /** Forgets every lease (the handle closes; nsqd redelivers after `msg_timeout`). */
  clear(): void {
    this.#leases.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #valid(l: Lease, now: number): boolean {
    return (
      now < l.until &&
      now < l.serverUntil - this.#marginMs &&
      now < l.hardUntil - this.#marginMs &&
      l.conn.ready &&
      l.conn.generation === l.generation
    );
  }

  #get(leaseId: string): Lease | undefined {
    const l = this.#leases.get(leaseId);
    if (!l) return undefined;
    const now = Date.now();
    if (this.#valid(l, now)) return l;
    if (this.#expire(leaseId, l, now)) this.#released();
    return undefined;
  }

  /**
   * Forgets a lease that ran out. When the caller's deadline passed first, the message is handed
   * back at once (REQ 0); past the server's deadline it may be out again already and is not touched.
   */
  #expire(id: string, l: Lease, now: number): boolean {
    this.#leases.delete(id);
    if (now >= l.serverUntil - this.#marginMs || now >= l.hardUntil - this.#marginMs) return false;
    return l.conn.respond(l.generation, () => l.msg.requeue(0, false));
  }

  #touch(l: Lease): boolean {
    const now = Date.now();
    if (!l.conn.respond(l.generation, () => l.msg.touch())) return false;
    l.serverUntil = Math.min(now + this.#msgTimeoutMs, l.hardUntil);
    l.keepaliveAt = now + this.#msgTimeoutMs / 3;
    return true;
  }

  #needsKeepalive(l: Lease): boolean {
    return l.until > l.serverUntil - this.#marginMs && l.serverUntil < l.hardUntil;
  }

  #schedule(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const l of this.#leases.values()) {
      const end = Math.min(l.until, l.serverUntil - this.#marginMs, l.hardUntil - this.#marginMs);
      next = Math.min(next, this.#needsKeepalive(l) ? Math.min(end, l.keepaliveAt) : end);
    }
    if (next === Number.POSITIVE_INFINITY) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = next;
      return;
    }
    if (this.#timer && next >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, next - Date.now()));
    this.#timer.unref();
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let released = false;
    for (const [id, l] of this.#leases) {
      if (!this.#valid(l, now)) {
        if (this.#expire(id, l, now)) released = true;
      } else if (this.#needsKeepalive(l) && now >= l.keepaliveAt) {
        this.#touch(l);
      }
    }
    if (released) this.#released();
    this.#schedule();
  }
}
