import { GatewayError } from "../../core/errors.js";
import { type NsqdNode, type NsqQueueConfig, nsqPriorityClass, nsqTopics } from "./nsq-config.js";
import { NsqConsumer } from "./nsq-consumer.js";
import { readDeadLetters } from "./nsq-dead.js";
import { encodeDead, encodeEnvelope } from "./nsq-envelope.js";
import {
  ensureTopics,
  httpPublish,
  type NodeStats,
  nodeStartTime,
  nodeStats,
  queueUnavailable,
} from "./nsq-http.js";
import { LeaseTable } from "./nsq-leases.js";
import { PublishMemory } from "./nsq-memory.js";
import type { DeadLetter, Delivery, PublishOptions, Queue, QueueStats, ReceiveOptions } from "./types.js";

export interface NsqQueueOptions {
  /** Connection trouble (consumers keep reconnecting); for logs. */
  onError?: (err: Error) => void;
}

/** Publishes to an nsqd started less than this ago are not remembered (see publish). */
const YOUNG_NSQD_MS = 2_000;

function checkId(id: string): void {
  if (id.length < 1 || id.length > 1_024) {
    throw new GatewayError("internal_error", "an NSQ queue message id must be 1-1024 characters");
  }
}

/**
 * The queue on NSQ (see docs/queue-nsq.md). Ready messages live on one topic per priority class,
 * read by every handle through one shared channel; publishes go over nsqd's HTTP API (`/pub`,
 * `defer` for a future `notBefore`) and are accepted once nsqd answers `OK`. Consumers hold one TCP
 * connection per nsqd and class and keep RDY at 0 unless a `receive` is waiting, so nsqd pushes a
 * message only to a handle that asked for it; `receive` first reads `/stats` to take what is queued
 * now (highest class first), then waits for a push. Leases are nsqd's in-flight timeouts, fenced by
 * this handle (nsq-leases.ts); `deliveries` is nsqd's attempts counter.
 */
export class NsqQueue implements Queue {
  readonly kind = "nsq";
  readonly #cfg: NsqQueueConfig;
  readonly #topics: { classes: string[]; dead: string };
  readonly #onError: (err: Error) => void;
  readonly #leases: LeaseTable;
  readonly #memory: PublishMemory;
  readonly #startTimes = new Map<string, { value: number; at: number }>();
  readonly #consumer: NsqConsumer;
  #closed = false;

  private constructor(cfg: NsqQueueConfig, opts: NsqQueueOptions) {
    this.#cfg = cfg;
    this.#topics = nsqTopics(cfg);
    this.#onError = opts.onError ?? (() => {});
    this.#leases = new LeaseTable(cfg.msgTimeoutMs, () => this.#consumer.wake());
    this.#memory = new PublishMemory(cfg.publishMemorySize, cfg.publishMemoryMs);
    this.#consumer = new NsqConsumer({
      cfg,
      topics: this.#topics,
      leases: this.#leases,
      deadLetter: (d, reason) => this.deadLetter(d, reason),
      onError: (err) => this.#onError(err),
    });
  }

  /** Creates the topics and the channel on the configured nsqd nodes; rejects with `queue_unavailable` when none answers. */
  static async open(cfg: NsqQueueConfig, opts: NsqQueueOptions = {}): Promise<NsqQueue> {
    const topics = nsqTopics(cfg);
    const all = [...topics.classes, topics.dead];
    const results = await Promise.allSettled(
      cfg.nsqd.map((n) => ensureTopics(n, all, cfg.channel, cfg.requestTimeoutMs)),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length === results.length) {
      throw queueUnavailable(
        `could not reach ${cfg.nsqd.map((n) => n.httpAddress).join(", ")}`,
        failed[0]?.reason,
      );
    }
    for (const f of failed)
      opts.onError?.(f.reason instanceof Error ? f.reason : new Error(String(f.reason)));
    return new NsqQueue(cfg, opts);
  }

  /**
   * Publishes to the first nsqd that answers `OK` (a future `notBefore` as a deferred publish). An id
   * this handle published before is not published again while it remembers it (see nsq-memory.ts):
   * a repeat from another process does queue a second copy.
   */
  async publish(id: string, payload: string, opts: PublishOptions = {}): Promise<void> {
    checkId(id);
    if (this.#closed) throw queueUnavailable("is closed", new Error("publish after close"));
    const deadline = Date.now() + this.#cfg.publishTimeoutMs;
    if (await this.#stillQueued(id, deadline)) return;
    const priority = opts.priority ?? 0;
    const notBefore = opts.notBefore ?? Date.now();
    const topic = this.#topics.classes[nsqPriorityClass(this.#cfg.priorityClasses, priority)]!;
    const body = encodeEnvelope({ id, payload, priority, notBefore });
    let last: unknown = new Error("no nsqd configured");
    for (const node of this.#cfg.nsqd) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const startTime = this.#memory.enabled ? await this.#startTime(node, left, 1_000) : 0;
      const deferMs = Math.min(notBefore - Date.now(), this.#cfg.maxReqTimeoutMs);
      try {
        await httpPublish(node, topic, body, deferMs, Math.max(1, deadline - Date.now()));
        // nsqd's start time has whole seconds: an instance younger than that could be a restart
        // that the start time does not show, so its publishes are not remembered.
        if (startTime !== undefined && Date.now() - startTime * 1_000 >= YOUNG_NSQD_MS) {
          this.#memory.remember(id, node.httpAddress, startTime);
        }
        return;
      } catch (err) {
        last = err;
      }
    }
    throw queueUnavailable(`did not take message ${id}`, last);
  }

  /** True when this handle published `id` to an nsqd that has not restarted since. */
  async #stillQueued(id: string, deadline: number): Promise<boolean> {
    const seen = this.#memory.recall(id);
    if (!seen) return false;
    const node = this.#cfg.nsqd.find((n) => n.httpAddress === seen.node);
    if (!node) return false;
    const now = await this.#startTime(node, deadline - Date.now(), 0);
    return now !== undefined && now === seen.startTime;
  }

  /** nsqd's start time, read at most `maxAgeMs` ago; undefined when it does not answer. */
  async #startTime(node: NsqdNode, timeoutMs: number, maxAgeMs: number): Promise<number | undefined> {
    const cached = this.#startTimes.get(node.httpAddress);
    if (cached && Date.now() - cached.at <= maxAgeMs) return cached.value;
    try {
      const value = await nodeStartTime(
        node.httpAddress,
        Math.max(1, Math.min(timeoutMs, this.#cfg.requestTimeoutMs)),
      );
      this.#startTimes.set(node.httpAddress, { value, at: Date.now() });
      return value;
    } catch {
      return undefined;
    }
  }

  /** Takes up to `max` messages, highest priority class first (see nsq-consumer.ts). */
  receive(opts: ReceiveOptions): Promise<Delivery[]> {
    if (this.#closed) return Promise.resolve([]);
    return this.#consumer.receive(opts);
  }

  async ack(d: Delivery): Promise<boolean> {
    const ok = this.#leases.end(d.leaseId, (m) => m.finish());
    if (ok) this.#memory.forget(d.id);
    return ok;
  }

  async nack(d: Delivery, delayMs: number): Promise<boolean> {
    const delay = Math.max(0, Math.min(Math.round(delayMs), this.#cfg.maxReqTimeoutMs));
    return this.#leases.end(d.leaseId, (m) => m.requeue(delay, false));
  }

  /** Publishes the dead letter (to the nsqd the message came from, else the configured ones), then FINs. */
  async deadLetter(d: Delivery, reason: string): Promise<boolean> {
    const env = this.#leases.envelope(d.leaseId);
    if (!env) return false;
    const body = encodeDead({
      ...env,
      reason: reason.slice(0, 2_000),
      deliveries: d.deliveries,
      at: Date.now(),
    });
    let last: unknown;
    for (const node of this.#deadTargets(d.leaseId)) {
      try {
        await httpPublish(node, this.#topics.dead, body, 0, this.#cfg.publishTimeoutMs);
        last = undefined;
        break;
      } catch (err) {
        last = err ?? new Error("publish failed");
      }
    }
    if (last !== undefined) throw queueUnavailable(`did not store dead letter ${d.id}`, last);
    const ok = this.#leases.end(d.leaseId, (m) => m.finish());
    if (ok) this.#memory.forget(d.id);
    return ok;
  }

  #deadTargets(leaseId: string): NsqdNode[] {
    const own = this.#leases.node(leaseId);
    return own
      ? [own, ...this.#cfg.nsqd.filter((n) => n.httpAddress !== own.httpAddress)]
      : [...this.#cfg.nsqd];
  }

  async extend(d: Delivery, leaseMs: number): Promise<boolean> {
    return this.#leases.extend(d.leaseId, leaseMs);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    try {
      return await readDeadLetters(this.#consumer.nodes(), this.#topics.dead, this.#cfg, limit);
    } catch (err) {
      throw queueUnavailable("could not read the dead letters", err);
    }
  }

  /** Sums `/stats` over the nodes: ready = topic + channel depth + deferred, leased = in flight. */
  async stats(): Promise<QueueStats> {
    const topics = [...this.#topics.classes, this.#topics.dead];
    let all: NodeStats[];
    try {
      all = await Promise.all(
        this.#consumer
          .nodes()
          .map((n) => nodeStats(n.httpAddress, topics, this.#cfg.channel, this.#cfg.requestTimeoutMs)),
      );
    } catch (err) {
      throw queueUnavailable("could not read nsqd's stats", err);
    }
    let ready = 0;
    let leased = 0;
    let dead = 0;
    for (const s of all) {
      for (const [topic, c] of s.topics) {
        if (topic === this.#topics.dead) dead += c.topicDepth + c.depth + c.inFlight + c.deferred;
        else {
          ready += c.topicDepth + c.depth + c.deferred;
          leased += c.inFlight;
        }
      }
    }
    return { ready, leased, dead };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#consumer.close();
    this.#leases.clear();
  }
}

/** Opens the NSQ queue named by `jobs.queue` (kind `nsq`). */
export function openNsqQueue(cfg: NsqQueueConfig, opts: NsqQueueOptions = {}): Promise<NsqQueue> {
  return NsqQueue.open(cfg, opts);
}
