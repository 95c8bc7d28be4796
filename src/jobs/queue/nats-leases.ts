/**
 * The leases a NATS queue handle holds. JetStream has one lease length per consumer (`ack_wait`) and
 * does not check which delivery an ack names, so the handle fences leases itself: a lease is the
 * caller's while both its own deadline (`leaseMs` from `receive` or `extend`) and the server's
 * (`ack_wait` from the last confirmed delivery or progress ack, less a safety margin) lie ahead.
 * One shared timer releases leases at their deadline (nak, so the message goes out again at once)
 * and sends confirmed progress acks for leases longer than `ack_wait`.
 */
import { EarliestTimer } from "./net-common.js";

export interface Lease {
  /** The ack subject of this delivery (`$JS.ACK.…`). */
  readonly reply: string;
  /** The caller's deadline. */
  until: number;
  /** The server's deadline: the last confirmed reset of its ack timer plus `ack_wait`. */
  serverUntil: number;
  /** Next progress ack due for a lease that outlives the server's deadline. */
  keepaliveAt: number;
  /** Ack, nak or progress requests in flight: the timer leaves the lease alone meanwhile. */
  busy: number;
}

export interface LeaseIo {
  /** Sends a control message on the ack subject and waits for the server's reply. */
  confirm(reply: string, body: string): Promise<void>;
  /** Sends a control message without waiting (best effort). */
  send(reply: string, body: string): void;
  /** Called after a lease ran out and its message was handed back. */
  released(): void;
}

export class LeaseTable {
  readonly #leases = new Map<string, Lease>();
  readonly #ackWaitMs: number;
  readonly #marginMs: number;
  readonly #io: LeaseIo;
  readonly #timer = new EarliestTimer(() => this.#sweep());

  constructor(ackWaitMs: number, io: LeaseIo) {
    this.#ackWaitMs = ackWaitMs;
    this.#marginMs = Math.min(1_000, Math.floor(ackWaitMs / 10));
    this.#io = io;
  }

  get size(): number {
    return this.#leases.size;
  }

  /** Records a delivery pulled by a request sent at `pulledAt` (the server's timer starts later). */
  add(leaseId: string, reply: string, leaseMs: number, pulledAt: number): void {
    const serverUntil = pulledAt + this.#ackWaitMs;
    this.#leases.set(leaseId, {
      reply,
      until: Date.now() + leaseMs,
      serverUntil,
      keepaliveAt: pulledAt + this.#ackWaitMs / 3,
      busy: 0,
    });
    this.#schedule();
  }

  /** The lease while it is still the caller's; a lease that ran out is forgotten. */
  get(leaseId: string): Lease | undefined {
    const l = this.#leases.get(leaseId);
    if (!l) return undefined;
    const now = Date.now();
    if (this.#valid(l, now)) return l;
    if (l.busy === 0 && this.#expire(leaseId, l, now)) this.#io.released();
    return undefined;
  }

  /**
   * Runs a confirmed control request for a valid lease; false when the lease ran out. On success the
   * lease is forgotten (`end`) or its server deadline renewed; a failed request leaves it as it was.
   */
  async settle(leaseId: string, body: string, end: boolean): Promise<boolean> {
    const l = this.get(leaseId);
    if (!l) return false;
    l.busy++;
    const sentAt = Date.now();
    try {
      await this.#io.confirm(l.reply, body);
    } finally {
      l.busy--;
      this.#schedule();
    }
    if (end) this.#leases.delete(leaseId);
    else this.#renewed(l, sentAt);
    return true;
  }

  /**
   * Sends a control message that ends a valid lease without waiting for the server's reply, and
   * forgets the lease; false when the lease ran out. If the message is lost (the connection drops
   * before it goes out), the server delivers the message again after `ack_wait`.
   */
  end(leaseId: string, body: string): boolean {
    const l = this.get(leaseId);
    if (!l) return false;
    this.#io.send(l.reply, body);
    this.#leases.delete(leaseId);
    this.#schedule();
    return true;
  }

  /** Lengthens a valid lease to `leaseMs` from now, resetting the server's timer (confirmed). */
  async extend(leaseId: string, leaseMs: number): Promise<boolean> {
    const l = this.get(leaseId);
    if (!l) return false;
    if (!(await this.settle(leaseId, "+WPI", false))) return false;
    l.until = Date.now() + leaseMs;
    this.#schedule();
    return true;
  }

  /** Forgets every lease (the connection is closing; the server redelivers after `ack_wait`). */
  clear(): void {
    this.#leases.clear();
    this.#timer.cancel();
  }

  #valid(l: Lease, now: number): boolean {
    return now < l.until && now < l.serverUntil - this.#marginMs;
  }

  /**
   * Forgets a lease that ran out. When the caller's deadline passed first, the message is handed
   * back at once (nak); past the server's deadline it may be out again already and is not touched.
   * True when it was handed back.
   */
  #expire(id: string, l: Lease, now: number): boolean {
    this.#leases.delete(id);
    if (now >= l.serverUntil - this.#marginMs) return false;
    this.#io.send(l.reply, "-NAK");
    return true;
  }

  #renewed(l: Lease, sentAt: number): void {
    l.serverUntil = Math.max(l.serverUntil, sentAt + this.#ackWaitMs);
    l.keepaliveAt = sentAt + this.#ackWaitMs / 3;
  }

  #needsKeepalive(l: Lease): boolean {
    return l.until > l.serverUntil - this.#marginMs;
  }

  #nextEvent(l: Lease): number {
    return this.#needsKeepalive(l) ? Math.min(l.until, l.keepaliveAt) : l.until;
  }

  #schedule(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const l of this.#leases.values()) if (l.busy === 0) next = Math.min(next, this.#nextEvent(l));
    this.#timer.at(next);
  }

  #sweep(): void {
    const now = Date.now();
    let released = false;
    for (const [id, l] of this.#leases) {
      if (l.busy > 0) continue;
      if (!this.#valid(l, now)) {
        if (this.#expire(id, l, now)) released = true;
      } else if (this.#needsKeepalive(l) && now >= l.keepaliveAt) {
        this.#keepalive(l);
      }
    }
    if (released) this.#io.released();
    this.#schedule();
  }

  #keepalive(l: Lease): void {
    l.busy++;
    const sentAt = Date.now();
    this.#io
      .confirm(l.reply, "+WPI")
      .then(
        () => this.#renewed(l, sentAt),
        () => {
          // Try again soon; the lease lapses at its server deadline if the server stays away.
          l.keepaliveAt = Date.now() + Math.min(1_000, this.#ackWaitMs / 10);
        },
      )
      .finally(() => {
        l.busy--;
        this.#schedule();
      });
  }
}
