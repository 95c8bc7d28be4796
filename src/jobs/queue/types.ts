/**
 * The `Queue` seam: a durable work queue with leases, at-least-once. The job service and the workers
 * talk to a broker only through this interface; adapters (SQLite here; NATS JetStream and Redis
 * Streams next) each pass `test/jobs/queue-conformance.ts`.
 *
 * Semantics every adapter keeps:
 * - `publish` is idempotent on `id` while the message exists (a second publish is a no-op).
 * - Higher `priority` is delivered first; within a priority, earlier `notBefore` (then earlier
 *   publish) first. A message is not delivered before `notBefore`.
 * - `receive` hands each message to one consumer at a time, under a lease that lasts `leaseMs`;
 *   when the lease runs out without ack / nack / deadLetter, the message is delivered again
 *   (`deliveries` counts every delivery, this one included).
 * - `ack`, `nack`, `deadLetter` and `extend` act only while the lease is still the caller's; they
 *   return false when it has run out and the message may already be someone else's.
 */

export interface PublishOptions {
  /** Higher first; default 0. */
  priority?: number;
  /** Epoch ms before which the message is not delivered; default now. */
  notBefore?: number;
}

export interface Delivery {
  /** The message id given to `publish`. */
  readonly id: string;
  readonly payload: string;
  readonly priority: number;
  /** How many times the message was delivered, this time included (1 on the first delivery). */
  readonly deliveries: number;
  /** Identifies this lease; every later call names it. */
  readonly leaseId: string;
  /**
   * Set (to the reason) when the message was delivered more often than the queue's limit allows
   * (`maxDeliver`; NSQ's `maxAttempts`) without being settled. The consumer must not run it again
   * and should end it (`deadLetter` with this reason); left unsettled, it comes again flagged the
   * same way, so the consumer that can end it well (the job worker fails the job first) always does.
   */
  readonly exhausted?: string;
}

export interface ReceiveOptions {
  /** Most messages to take at once. */
  max: number;
  /** Lease (visibility timeout) of each message taken. */
  leaseMs: number;
  /** How long to wait when nothing is ready (0 = return at once). */
  waitMs: number;
  /** Ends the wait early (returns what is there, usually nothing). */
  signal?: AbortSignal;
}

export interface AckOptions {
  /**
   * `false`: the ack may be handed to the broker without waiting for the broker to confirm it (on
   * NATS a plain `+ACK` instead of a double ack: no reply to wait for and read). Use it where a lost
   * ack only brings the message back to a consumer that settles it without running anything again,
   * as the job worker does: it acks after the store holds the job's end, and a claim of a finished
   * job is refused. The result still says whether the lease was the caller's. Default `true`.
   */
  confirm?: boolean;
}

export interface DeadLetter {
  readonly id: string;
  readonly payload: string;
  readonly reason: string;
  readonly deliveries: number;
}

export interface QueueStats {
  /** Waiting to be delivered (including not yet visible ones). */
  readonly ready: number;
  /** Delivered and under a lease. */
  readonly leased: number;
  readonly dead: number;
}

export interface Queue {
  /** The adapter kind, for logs: `sqlite` (later `nats`, `redis`). */
  readonly kind: string;
  publish(id: string, payload: string, opts?: PublishOptions): Promise<void>;
  /** Takes up to `max` ready messages under a lease; waits up to `waitMs` when none is ready. */
  receive(opts: ReceiveOptions): Promise<Delivery[]>;
  /** Done: the message is removed. */
  ack(d: Delivery, opts?: AckOptions): Promise<boolean>;
  /** Back to the queue, delivered again after `delayMs`. */
  nack(d: Delivery, delayMs: number): Promise<boolean>;
  /** Out of the queue into the dead-letter list, with a reason. */
  deadLetter(d: Delivery, reason: string): Promise<boolean>;
  /** Lengthens the lease to `leaseMs` from now (call it while work runs). */
  extend(d: Delivery, leaseMs: number): Promise<boolean>;
  deadLetters(limit: number): Promise<DeadLetter[]>;
  stats(): Promise<QueueStats>;
  /** Stops waits in progress and releases connections. Safe to call twice. */
  close(): Promise<void>;
  /**
   * Set when the queue's writes commit in order with the job store's that name the same object (the
   * embedded profile: one SQLite file, one group commit). Writes asked for in one turn of the event
   * loop then commit in the order they were asked for, in one transaction where they fit.
   */
  readonly commitGroup?: object;
}
