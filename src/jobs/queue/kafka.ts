import { Consumer, ProduceAcks, Producer, stringSerializers } from "@platformatic/kafka";
import type { KafkaQueueConfig } from "./kafka-config.js";
import { countDead, groupLag, readDeadLetters } from "./kafka-inspect.js";
import { clientBase, ensureTopics, H, type KafkaNames, kafkaNames, queueUnavailable } from "./kafka-link.js";
import { KafkaMember, type KafkaMessage } from "./kafka-member.js";
import { KafkaSender } from "./kafka-sender.js";
import { type Entry, Tracker } from "./kafka-tracker.js";
import { checkHeaderId, headerText, Waiters } from "./net-common.js";
import { priorityClass } from "./net-config.js";
import type { DeadLetter, Delivery, PublishOptions, Queue, QueueStats, ReceiveOptions } from "./types.js";

export interface KafkaQueueOptions {
  /** Broker trouble (the clients keep retrying); for logs. */
  onError?: (err: Error) => void;
}

const num = (m: KafkaMessage, name: string, dflt: number): number => {
  const v = Number(m.headers.get(name));
  return Number.isFinite(v) ? v : dflt;
};

/** How long a first `receive` may wait for this handle to join the group, whatever its `waitMs`. */
const JOIN_WAIT_MS = 10_000;

/**
 * The queue on Apache Kafka (see docs/queue-kafka.md). One topic per priority class, keyed by message
 * id; a handle joins the consumer group on its first `receive` and keeps, for the partitions the
 * group gives it, every fetched message until it is settled (see kafka-tracker.ts): leases and
 * not-before times live in the member, a nack stores a delayed copy of the message, dead letters go
 * to a topic of their own, and the group's offset moves only past settled messages. Publishes are
 * idempotent-producer writes acknowledged by all in-sync replicas.
 */
export class KafkaQueue implements Queue {
  readonly kind = "kafka";
  readonly #cfg: KafkaQueueConfig;
  readonly #names: KafkaNames;
  readonly #producer: Producer<string, string, string, string>;
  /** Every write goes through it: one send in flight at a time (see kafka-sender.ts). */
  readonly #sender: KafkaSender;
  readonly #inspector: Consumer<string, string, string, string>;
  readonly #tracker = new Tracker();
  readonly #onError: (err: Error) => void;
  readonly #waiters = new Waiters();
  #member: KafkaMember | undefined;
  #everSynced = false;
  #commit: Promise<void> | undefined;
  #commitAgain = false;
  #closed = false;

  private constructor(
    cfg: KafkaQueueConfig,
    inspector: Consumer<string, string, string, string>,
    opts: KafkaQueueOptions,
  ) {
    this.#cfg = cfg;
    this.#names = kafkaNames(cfg);
    this.#onError = opts.onError ?? (() => {});
    this.#inspector = inspector;
    this.#producer = new Producer({
      ...clientBase(cfg, "producer", 2),
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
    });
    this.#sender = new KafkaSender(this.#producer);
  }

  /** Connects, creates the topics that are missing, and returns the queue; rejects with `queue_unavailable`. */
  static async open(cfg: KafkaQueueConfig, opts: KafkaQueueOptions = {}): Promise<KafkaQueue> {
    const names = kafkaNames(cfg);
    try {
      await ensureTopics(cfg, names);
    } catch (err) {
      throw queueUnavailable(`could not set up topics ${cfg.topicPrefix}.*`, err);
    }
    const inspector = new Consumer<string, string, string, string>({
      ...clientBase(cfg, "inspector", 2),
      groupId: cfg.groupId,
    });
    return new KafkaQueue(cfg, inspector, opts);
  }

  async publish(id: string, payload: string, opts: PublishOptions = {}): Promise<void> {
    checkHeaderId(id, "Kafka");
    if (this.#closed) throw queueUnavailable("is closed", new Error("publish after close"));
    const priority = opts.priority ?? 0;
    const notBefore = opts.notBefore ?? Date.now();
    await this.#produce(`store message ${id}`, this.#classTopic(priority), id, payload, {
      [H.id]: id,
      [H.priority]: String(priority),
      [H.notBefore]: String(notBefore),
      [H.deliveries]: "0",
    });
  }

  async receive(opts: ReceiveOptions): Promise<Delivery[]> {
    if (opts.max <= 0 || this.#closed) return [];
    const until = Date.now() + opts.waitMs;
    const member = this.#ensureMember();
    // The first receive waits for the join and the first fetch, so that it sees what is there.
    const joinWait = this.#everSynced ? 0 : Math.max(opts.waitMs, JOIN_WAIT_MS);
    if (await member.sync(joinWait, opts.signal)) this.#everSynced = true;
    for (;;) {
      if (this.#closed || opts.signal?.aborted) return [];
      const now = Date.now();
      this.#tracker.expire(now);
      const got = this.#take(opts.max, opts.leaseMs, now);
      if (got.length > 0) return got;
      const left = until - Date.now();
      if (left <= 0) return [];
      const next = this.#tracker.nextEventAt(Date.now()) - Date.now();
      await this.#wait(Math.max(1, Math.min(left, next)), opts.signal);
    }
  }

  async ack(d: Delivery): Promise<boolean> {
    const e = this.#tracker.lease(d.leaseId, Date.now());
    if (!e) return false;
    this.#settled(e);
    await this.#commitNow();
    return true;
  }

  /** Stores a copy with the delay and the delivery count (so both survive a crash), then settles this one. */
  async nack(d: Delivery, delayMs: number): Promise<boolean> {
    const e = this.#tracker.lease(d.leaseId, Date.now());
    if (!e) return false;
    const due = Date.now() + Math.max(0, delayMs);
    this.#tracker.moving(e);
    try {
      await this.#produce(`store the retry of ${e.id}`, e.topic, e.id, e.payload, {
        [H.id]: e.id,
        [H.priority]: String(e.priority),
        [H.notBefore]: String(due),
        [H.deliveries]: String(e.count),
      });
      this.#settled(e);
      await this.#commitNow();
    } catch (err) {
      // The broker did not take the copy: this member keeps the delay in memory instead.
      this.#tracker.keep(e, due);
      this.#onError(err instanceof Error ? err : new Error(String(err)));
    }
    this.#wake();
    return true;
  }

  async deadLetter(d: Delivery, reason: string): Promise<boolean> {
    const e = this.#tracker.lease(d.leaseId, Date.now());
    if (!e) return false;
    await this.#produce(`store dead letter ${e.id}`, this.#names.dead, e.id, e.payload, {
      [H.id]: e.id,
      [H.reason]: headerText(reason, 1_000),
      [H.deliveries]: String(d.deliveries),
      [H.priority]: String(e.priority),
    });
    if (this.#tracker.lease(d.leaseId, Date.now()) !== e) return false;
    this.#settled(e);
    await this.#commitNow();
    return true;
  }

  async extend(d: Delivery, leaseMs: number): Promise<boolean> {
    const e = this.#tracker.lease(d.leaseId, Date.now());
    if (!e) return false;
    this.#tracker.extend(e, leaseMs, Date.now());
    return true;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    try {
      return await readDeadLetters(this.#inspector, this.#names.dead, limit);
    } catch (err) {
      throw queueUnavailable("could not read the dead letters", err);
    }
  }

  /** `ready` is the group's lag less this handle's leases; `leased` counts this handle's leases only. */
  async stats(): Promise<QueueStats> {
    try {
      const [lag, dead] = await Promise.all([
        groupLag(this.#inspector, this.#names),
        countDead(this.#inspector, this.#names.dead),
      ]);
      const leased = this.#tracker.leased;
      return { ready: Math.max(0, lag - leased), leased, dead };
    } catch (err) {
      throw queueUnavailable("could not read the topics' offsets", err);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#commitNow();
    this.#closed = true;
    this.#wake();
    await this.#member?.close();
    await Promise.allSettled([this.#producer.close(), this.#inspector.close()]);
  }

  #classTopic(priority: number): string {
    return this.#names.classes[priorityClass(this.#cfg.priorityClasses, priority)]!;
  }

  /**
   * One confirmed write (acks from all in-sync replicas), bounded by `publishTimeoutMs`; a write that
   * is still waiting for its turn when the time is up is never sent.
   */
  async #produce(what: string, topic: string, key: string, value: string, headers: Record<string, string>) {
    const sending = this.#sender.send({ topic, key, value, headers });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no acknowledgement within ${this.#cfg.publishTimeoutMs} ms`)),
        this.#cfg.publishTimeoutMs,
      );
    });
    try {
      await Promise.race([sending.done, timeout]);
    } catch (err) {
      sending.cancel();
      throw queueUnavailable(`did not ${what}`, err);
    } finally {
      clearTimeout(timer);
    }
  }

  #ensureMember(): KafkaMember {
    this.#member ??= new KafkaMember(this.#cfg, [...this.#names.classes], {
      message: (m) => this.#fetched(m),
      assigned: (keys) => {
        if (this.#tracker.revoke(keys) > 0) this.#hold();
      },
      error: (err) => this.#onError(err),
    });
    return this.#member;
  }

  #fetched(m: KafkaMessage): void {
    const id = m.headers.get(H.id);
    const added = this.#tracker.add({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      timestamp: Number(m.timestamp),
      id: id ?? `offset:${m.topic}:${m.partition}:${m.offset}`,
      payload: m.value ?? "",
      priority: num(m, H.priority, 0),
      notBefore: num(m, H.notBefore, 0),
      deliveries: num(m, H.deliveries, 0),
    });
    this.#hold();
    if (added) this.#wake();
  }

  /** Leases due messages; one past `maxDeliver` deliveries is flagged `exhausted` for the consumer to end. */
  #take(max: number, leaseMs: number, now: number): Delivery[] {
    const limit = this.#cfg.maxDeliver;
    return this.#tracker.take(max, leaseMs, now).map((e) => {
      const d = delivery(e);
      if (limit <= 0 || e.count <= limit) return d;
      const exhausted = `max_deliveries: delivered ${e.count - 1} times without being settled (maxDeliver ${limit})`;
      return Object.freeze({ ...d, exhausted });
    });
  }

  #settled(e: Entry): void {
    this.#tracker.done(e);
    this.#hold();
  }

  /** Stops fetching while the member holds `maxBufferedMessages`, resumes below it. */
  #hold(): void {
    this.#member?.hold(this.#tracker.pending >= this.#cfg.maxBufferedMessages);
  }

  /** Commits every partition's settled prefix; one commit at a time, coalescing the requests meanwhile. */
  #commitNow(): Promise<void> {
    if (this.#commit) {
      this.#commitAgain = true;
      return this.#commit;
    }
    const run = async (): Promise<void> => {
      do {
        this.#commitAgain = false;
        const points = this.#tracker.commitPoints();
        if (points.length === 0 || !this.#member) return;
        try {
          await this.#member.commit(points);
          for (const p of points) this.#tracker.committed(p.key, p.offset);
        } catch (err) {
          // Kept: the next settle commits again; after a lost partition the new owner redelivers.
          this.#onError(err instanceof Error ? err : new Error(String(err)));
          return;
        }
      } while (this.#commitAgain);
    };
    this.#commit = run().finally(() => {
      this.#commit = undefined;
    });
    return this.#commit;
  }

  #wake(): void {
    this.#waiters.wakeAll();
  }

  #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#waiters.wait(ms, signal);
  }
}

function delivery(e: Entry): Delivery {
  return Object.freeze({
    id: e.id,
    payload: e.payload,
    priority: e.priority,
    deliveries: e.count,
    leaseId: e.leaseId,
  });
}

/** Opens the Kafka queue named by `jobs.queue` (kind `kafka`). */
export function openKafkaQueue(cfg: KafkaQueueConfig, opts: KafkaQueueOptions = {}): Promise<KafkaQueue> {
  return KafkaQueue.open(cfg, opts);
}
