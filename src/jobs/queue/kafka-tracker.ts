/**
 * What one Kafka group member knows about the messages of the partitions it owns. Kafka has one
 * position per partition (the committed offset) and no per-message acknowledgement, so the member
 * keeps every fetched message here until it is settled: ready (waiting for its `notBefore`, or due),
 * leased (handed to a caller until a deadline) or done (acked, dead-lettered, moved by a nack, or a
 * duplicate). The offset it may commit for a partition is that of its first message not yet done:
 * a message is never committed past before it is settled.
 */
import { newLeaseId } from "../../core/ids.js";

export interface Fetched {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** Broker timestamp (publish time), epoch ms. */
  readonly timestamp: number;
  readonly id: string;
  readonly payload: string;
  readonly priority: number;
  readonly notBefore: number;
  /** Deliveries before this copy (carried over by a nack). */
  readonly deliveries: number;
}

type State = "ready" | "leased" | "moving" | "done";

export interface Entry extends Fetched {
  state: State;
  /** Deliveries so far, the current one included while leased. */
  count: number;
  leaseId: string;
  until: number;
  due: number;
}

interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** Tracked messages in offset order; done ones are dropped from the front. */
  entries: Entry[];
  /** One past the highest offset seen (later fetches of lower offsets are repeats). */
  next: bigint;
  /** The last offset committed (at first, where fetching started). */
  committed: bigint;
}

export interface CommitPoint {
  readonly key: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export const partitionKey = (topic: string, partition: number): string => `${topic}:${partition}`;

export class Tracker {
  readonly #logs = new Map<string, PartitionLog>();
  /** Message ids with a copy that is not done: a second copy of one of them is a duplicate. */
  readonly #live = new Map<string, Entry>();
  readonly #ready = new Set<Entry>();
  readonly #leases = new Map<string, Entry>();
  #pending = 0;

  /** Messages held that are not done (ready, delayed, leased or being moved). */
  get pending(): number {
    return this.#pending;
  }

  get leased(): number {
    return this.#leases.size;
  }

  get ready(): number {
    return this.#ready.size;
  }

  /** Adds a fetched message; false when it was seen before (a re-fetch) or is a duplicate of a live id. */
  add(f: Fetched): boolean {
    const key = partitionKey(f.topic, f.partition);
    let log = this.#logs.get(key);
    if (!log) {
      // Fetching starts at the committed offset: nothing to commit until the first message is settled.
      log = { topic: f.topic, partition: f.partition, entries: [], next: -1n, committed: f.offset };
      this.#logs.set(key, log);
    }
    if (f.offset < log.next) return false;
    log.next = f.offset + 1n;
    const e: Entry = { ...f, state: "ready", count: f.deliveries, leaseId: "", until: 0, due: f.notBefore };
    log.entries.push(e);
    if (this.#live.has(f.id)) {
      e.state = "done";
      return false;
    }
    this.#live.set(f.id, e);
    this.#ready.add(e);
    this.#pending++;
    return true;
  }

  /** Leases up to `max` due messages: higher priority first, then earlier `notBefore`, then publish order. */
  take(max: number, leaseMs: number, now: number): Entry[] {
    const due: Entry[] = [];
    for (const e of this.#ready) if (e.due <= now) due.push(e);
    due.sort(
      (a, b) =>
        b.priority - a.priority ||
        a.notBefore - b.notBefore ||
        a.timestamp - b.timestamp ||
        (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0),
    );
    const out = due.slice(0, max);
    for (const e of out) {
      this.#ready.delete(e);
      e.state = "leased";
      e.count++;
      e.leaseId = newLeaseId();
      e.until = now + leaseMs;
      this.#leases.set(e.leaseId, e);
    }
    return out;
  }

  /** The entry while the lease is still the caller's; a lease that ran out is released first. */
  lease(leaseId: string, now: number): Entry | undefined {
    const e = this.#leases.get(leaseId);
    if (!e) return undefined;
    if (now < e.until) return e;
    this.#release(e, now);
    return undefined;
  }

  extend(e: Entry, leaseMs: number, now: number): void {
    e.until = now + leaseMs;
  }

  /** The message is settled (acked, dead-lettered, or its copy stored by a nack). */
  done(e: Entry): void {
    if (e.state === "done") return;
    if (e.state === "ready") this.#ready.delete(e);
    this.#leases.delete(e.leaseId);
    if (this.#live.get(e.id) === e) this.#live.delete(e.id);
    e.state = "done";
    this.#pending--;
  }

  /** A nack is storing a delayed copy: the lease ends and the copy (same id) will be admitted. */
  moving(e: Entry): void {
    this.#leases.delete(e.leaseId);
    if (this.#live.get(e.id) === e) this.#live.delete(e.id);
    e.state = "moving";
  }

  /** The copy could not be stored: the member keeps the delay itself (in memory). */
  keep(e: Entry, due: number): void {
    e.state = "ready";
    e.due = due;
    this.#live.set(e.id, e);
    this.#ready.add(e);
  }

  /** Releases every lease that ran out; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const e of this.#leases.values()) {
      if (now >= e.until) {
        this.#release(e, now);
        n++;
      }
    }
    return n;
  }

  /** The next time something changes by itself: a lease runs out or a delayed message comes due. */
  nextEventAt(now: number): number {
    let at = Number.POSITIVE_INFINITY;
    for (const e of this.#leases.values()) at = Math.min(at, e.until);
    for (const e of this.#ready.values()) if (e.due > now) at = Math.min(at, e.due);
    return at;
  }

  /** Partitions whose first unsettled offset moved past the last commit. */
  commitPoints(): CommitPoint[] {
    const out: CommitPoint[] = [];
    for (const [key, log] of this.#logs) {
      let i = 0;
      while (i < log.entries.length && log.entries[i]!.state === "done") i++;
      if (i > 0) log.entries.splice(0, i);
      const offset = log.entries[0]?.offset ?? log.next;
      if (offset > log.committed && offset >= 0n) {
        out.push({ key, topic: log.topic, partition: log.partition, offset });
      }
    }
    return out;
  }

  committed(key: string, offset: bigint): void {
    const log = this.#logs.get(key);
    if (log && offset > log.committed) log.committed = offset;
  }

  /** Forgets the partitions not in `keep` (the group gave them to another member): their leases end. */
  revoke(keep: Set<string>): number {
    let dropped = 0;
    for (const [key, log] of this.#logs) {
      if (keep.has(key)) continue;
      for (const e of log.entries) {
        if (e.state === "done") continue;
        this.done(e);
        dropped++;
      }
      this.#logs.delete(key);
    }
    return dropped;
  }

  /** Every partition this member tracks. */
  keys(): string[] {
    return [...this.#logs.keys()];
  }

  #release(e: Entry, now: number): void {
    this.#leases.delete(e.leaseId);
    e.state = "ready";
    e.leaseId = "";
    e.due = Math.min(e.due, now);
    this.#ready.add(e);
  }
}
