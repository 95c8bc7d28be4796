/**
 * One queue handle's membership in the consumer group: it joins on the first `receive` (a process
 * that only publishes never owns partitions), fetches the priority topics of the partitions the
 * group gives it from their committed offsets, commits what the handle settled, and restarts its
 * fetching after a broker error with a wait that grows while the outage lasts.
 */
import {
  Consumer,
  type GroupAssignment,
  type Message,
  type MessagesStream,
  stringDeserializers,
} from "@platformatic/kafka";
import type { KafkaQueueConfig } from "./kafka-config.js";
import { ASSIGNOR, clientBase, encodeOwned, stickyAssign } from "./kafka-link.js";
import { type CommitPoint, partitionKey } from "./kafka-tracker.js";

export type KafkaMessage = Message<string, string, string, string>;

export interface MemberEvents {
  message(m: KafkaMessage): void;
  /** The group changed this member's partitions (`keys` are `topic:partition`). */
  assigned(keys: Set<string>): void;
  error(err: Error): void;
}

export class KafkaMember {
  readonly #cfg: KafkaQueueConfig;
  readonly #topics: string[];
  readonly #on: MemberEvents;
  readonly #consumer: Consumer<string, string, string, string>;
  #stream: MessagesStream<string, string, string, string> | undefined;
  #assigned = new Set<string>();
  /** False from a (re)join until the first fetch after it has been handed over. */
  #synced = false;
  readonly #syncWaiters = new Set<() => void>();
  #starting: Promise<void> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #paused = false;
  #closed = false;

  constructor(cfg: KafkaQueueConfig, topics: string[], on: MemberEvents) {
    this.#cfg = cfg;
    this.#topics = topics;
    this.#on = on;
    const owned = () => [...this.#assigned].map((k) => Number(k.slice(k.lastIndexOf(":") + 1)));
    // Read at every (re)join: the group leader keeps each member's partitions where it can.
    const protocol = {
      name: ASSIGNOR,
      version: 1,
      get metadata(): Buffer {
        return encodeOwned(owned());
      },
    };
    this.#consumer = new Consumer({
      ...clientBase(cfg, "consumer", 3),
      groupId: cfg.groupId,
      deserializers: stringDeserializers,
      autocommit: false,
      sessionTimeout: cfg.sessionTimeoutMs,
      heartbeatInterval: cfg.heartbeatIntervalMs,
      rebalanceTimeout: cfg.rebalanceTimeoutMs,
      maxWaitTime: cfg.fetchMaxWaitMs,
      highWaterMark: 256,
      protocols: [protocol],
      partitionAssigner: stickyAssign,
    });
    this.#consumer.on("consumer:group:join", (p) => this.#joined(p.assignments ?? []));
    // A failed rejoin: start over (a new stream joins the group again).
    this.#consumer.on("error", (err: Error) => {
      this.#on.error(err);
      this.#stream?.destroy(err);
    });
  }

  /** True while this member has a stream fetching its partitions. */
  get active(): boolean {
    return this.#stream !== undefined && !this.#closed;
  }

  /** `topic:partition` of every partition the group gave this member. */
  get assigned(): ReadonlySet<string> {
    return this.#assigned;
  }

  /**
   * Joins (first call) and waits until the first fetch after the latest (re)join was handed over,
   * or `ms` passed. False when not synced (joining, rebalancing, or the brokers are unreachable).
   */
  async sync(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return this.#synced;
    const abort = () => this.#wakeSync();
    signal?.addEventListener("abort", abort, { once: true });
    try {
      return await this.#sync(ms);
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  async #sync(ms: number): Promise<boolean> {
    if (!this.#stream && !this.#closed) {
      this.#starting ??= this.#start().finally(() => {
        this.#starting = undefined;
      });
      let stop = () => {};
      const started = await Promise.race([
        this.#starting.then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => {
          const timer = setTimeout(r, ms, false);
          stop = () => {
            clearTimeout(timer);
            this.#syncWaiters.delete(stop);
            r(false);
          };
          this.#syncWaiters.add(stop);
        }),
      ]);
      stop();
      if (!started) return false;
    }
    if (this.#synced || this.#closed) return this.#synced;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#syncWaiters.delete(done);
        resolve(this.#synced);
      };
      const timer = setTimeout(done, ms);
      this.#syncWaiters.add(done);
    });
  }

  /** Stops (true) or resumes fetching, for the handle's memory bound. */
  hold(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (!this.#stream) return;
    if (paused) this.#stream.pause();
    else this.#stream.resume();
  }

  /** Commits the given positions (the group rejects them after this member lost the partition). */
  async commit(points: CommitPoint[]): Promise<void> {
    if (points.length === 0 || this.#closed) return;
    await this.#consumer.commit({
      offsets: points.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        offset: p.offset,
        leaderEpoch: -1,
      })),
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#wakeSync();
    await this.#starting?.catch(() => {});
    const stream = this.#stream;
    this.#stream = undefined;
    await stream?.close().catch(() => {});
    // Leaving the group hands this member's partitions to the others at once.
    await this.#consumer.close().catch(() => {});
  }

  async #start(): Promise<void> {
    this.#synced = false;
    let stream: MessagesStream<string, string, string, string>;
    try {
      stream = await this.#consumer.consume({
        topics: this.#topics,
        mode: "committed",
        fallbackMode: "earliest",
        autocommit: false,
      });
    } catch (err) {
      this.#failed(err);
      throw err;
    }
    if (this.#closed) {
      await stream.close().catch(() => {});
      return;
    }
    this.#failures = 0;
    this.#stream = stream;
    stream.on("data", (m: KafkaMessage) => {
      if (this.#assigned.has(partitionKey(m.topic, m.partition))) this.#on.message(m);
    });
    stream.on("fetch", () => {
      // The fetch's messages are pushed right after this event: mark synced once they are in.
      if (!this.#synced) process.nextTick(() => this.#markSynced());
    });
    stream.once("error", (err: Error) => this.#streamEnded(stream, err));
    stream.once("close", () => this.#streamEnded(stream, undefined));
    if (this.#paused) stream.pause();
    if (this.#assigned.size === 0 && this.#consumer.assignments !== null) this.#markSynced();
  }

  #joined(assignments: GroupAssignment[]): void {
    const keys = new Set<string>();
    for (const a of assignments) for (const p of a.partitions) keys.add(partitionKey(a.topic, p));
    this.#assigned = keys;
    this.#synced = false;
    this.#on.assigned(keys);
    // With nothing to fetch no fetch event comes: nothing to wait for.
    if (keys.size === 0) this.#markSynced();
  }

  #markSynced(): void {
    this.#synced = true;
    this.#wakeSync();
  }

  #wakeSync(): void {
    for (const w of this.#syncWaiters) w();
  }

  #streamEnded(stream: MessagesStream<string, string, string, string>, err: Error | undefined): void {
    if (this.#stream !== stream) return;
    this.#stream = undefined;
    this.#synced = false;
    if (this.#closed) return;
    this.#failed(err ?? new Error("the fetch stream ended"));
    this.#restartLater();
  }

  /** Starts fetching again after a wait that doubles with each failure, up to `reconnectMaxWaitMs`. */
  #restartLater(): void {
    const cfg = this.#cfg;
    const wait = Math.min(cfg.reconnectMaxWaitMs, cfg.reconnectWaitMs * 2 ** Math.min(this.#failures, 10));
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      if (this.#closed || this.#stream || this.#starting) return;
      this.#starting = this.#start()
        .catch(() => this.#restartLater())
        .finally(() => {
          this.#starting = undefined;
        });
    }, wait);
    this.#restartTimer.unref();
  }

  #failed(err: unknown): void {
    this.#failures++;
    this.#on.error(err instanceof Error ? err : new Error(String(err)));
  }
}
