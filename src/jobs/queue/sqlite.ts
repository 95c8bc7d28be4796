import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import { newLeaseId } from "../../core/ids.js";
import type { SqliteStoreConfig } from "../../store/config.js";
import { acquireSqliteDatabase, type SqliteHandle } from "../../store/sqlite.js";
import type { DeadLetter, Delivery, PublishOptions, Queue, QueueStats, ReceiveOptions } from "./types.js";

export interface SqliteQueueOptions {
  /** Queue name inside the file (several queues may share the table). */
  name?: string;
  /** How often an idle consumer looks for work published by another process. */
  pollIntervalMs?: number;
}

/** Wakes consumers in this process when a message is published to the same file and queue. */
const localSignals = new EventEmitter();
localSignals.setMaxListeners(0);

interface ClaimRow {
  id: string;
  payload: string;
  priority: number;
  deliveries: number;
  lease_id: string;
}

/**
 * The embedded queue: a table in the store's SQLite file (WAL, synchronous=FULL, so a published
 * message survives a process or OS crash). A claim is one `UPDATE … RETURNING` in an IMMEDIATE
 * transaction, so concurrent consumers (threads or processes) never hold the same lease. Idle
 * consumers wake on a local publish at once and otherwise poll every `pollIntervalMs`.
 */
export class SqliteQueue implements Queue {
  readonly kind = "sqlite";
  readonly #db: Database.Database;
  readonly #name: string;
  readonly #topic: string;
  readonly #pollMs: number;
  readonly #s: ReturnType<typeof prepare>;
  readonly #closing = new AbortController();
  readonly #group: SqliteHandle["group"];

  readonly #handle: SqliteHandle;

  constructor(handle: SqliteHandle, topic: string, opts: SqliteQueueOptions = {}) {
    const { db } = handle;
    this.#handle = handle;
    this.#db = db;
    this.#name = opts.name ?? "jobs";
    this.#topic = `${topic}\0${this.#name}`;
    this.#pollMs = opts.pollIntervalMs ?? 200;
    this.#s = prepare(db);
    this.#group = handle.group;
  }

  get commitGroup(): object {
    return this.#group;
  }

  async publish(id: string, payload: string, opts: PublishOptions = {}): Promise<void> {
    const now = Date.now();
    await this.#group.run(() =>
      this.#s.publish.run(this.#name, id, payload, opts.priority ?? 0, opts.notBefore ?? now, now),
    );
    localSignals.emit(this.#topic);
  }

  async receive(opts: ReceiveOptions): Promise<Delivery[]> {
    const until = Date.now() + opts.waitMs;
    for (;;) {
      const got = await this.#claim(opts.max, opts.leaseMs);
      if (got.length > 0 || opts.signal?.aborted || this.#closing.signal.aborted) return got;
      const left = until - Date.now();
      if (left <= 0) return got;
      await this.#wait(Math.min(left, this.#nextVisibleIn(), this.#pollMs), opts.signal);
    }
  }

  async #claim(max: number, leaseMs: number): Promise<Delivery[]> {
    if (max <= 0 || !this.#db.open) return [];
    const now = Date.now();
    // A lease needs no disk sync of its own: lost in an OS crash, the message is simply delivered
    // again; the job's claim that follows is synced, and syncing it syncs this (the log is in order).
    const rows = await this.#group.run(
      () => this.#s.claimTx(this.#name, now, max, newLeaseId(), now + leaseMs),
      { durable: false },
    );
    return rows.map((r) => ({
      id: r.id,
      payload: r.payload,
      priority: r.priority,
      deliveries: r.deliveries,
      leaseId: r.lease_id,
    }));
  }

  #nextVisibleIn(): number {
    const row = this.#s.nextVisible.get(this.#name);
    return row?.t == null ? Number.POSITIVE_INFINITY : Math.max(1, row.t - Date.now());
  }

  #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        localSignals.off(this.#topic, done);
        signal?.removeEventListener("abort", done);
        this.#closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      localSignals.on(this.#topic, done);
      signal?.addEventListener("abort", done);
      this.#closing.signal.addEventListener("abort", done);
    });
  }

  async ack(d: Delivery): Promise<boolean> {
    return this.#write(() => this.#s.ack.run(this.#name, d.id, d.leaseId));
  }

  async nack(d: Delivery, delayMs: number): Promise<boolean> {
    const ok = await this.#write(() => this.#s.nack.run(Date.now() + delayMs, this.#name, d.id, d.leaseId));
    if (ok && delayMs <= 0) localSignals.emit(this.#topic);
    return ok;
  }

  async deadLetter(d: Delivery, reason: string): Promise<boolean> {
    return this.#write(() => this.#s.dead.run(reason, this.#name, d.id, d.leaseId));
  }

  async extend(d: Delivery, leaseMs: number): Promise<boolean> {
    return this.#write(() => this.#s.extend.run(Date.now() + leaseMs, this.#name, d.id, d.leaseId));
  }

  /** One leased-message change in the next group commit; true when it touched the message. */
  async #write(fn: () => { changes: number }): Promise<boolean> {
    return (await this.#group.run(fn)).changes === 1;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.#s.deadList.all(this.#name, limit);
  }

  async stats(): Promise<QueueStats> {
    const r = this.#s.stats.get(Date.now(), Date.now(), this.#name);
    return { ready: r?.ready ?? 0, leased: r?.leased ?? 0, dead: r?.dead ?? 0 };
  }

  async close(): Promise<void> {
    this.#closing.abort();
    this.#handle.release();
  }
}

function prepare(db: Database.Database) {
  const lease = "queue = ? AND id = ? AND lease_id = ? AND dead = 0";
  // The UPDATE … RETURNING gives rows in table order, so the picking SELECT (same transaction)
  // supplies the delivery order.
  const pick = db.prepare<[string, number, number], { seq: number }>(
    `SELECT seq FROM queue_messages WHERE queue = ? AND dead = 0 AND visible_at <= ?
     ORDER BY priority DESC, visible_at, seq LIMIT ?`,
  );
  const claim = db.prepare<[string, number, string], ClaimRow & { seq: number }>(
    `UPDATE queue_messages SET lease_id = ?, deliveries = deliveries + 1, visible_at = ?
     WHERE seq IN (SELECT value FROM json_each(?))
     RETURNING seq, id, payload, priority, deliveries, lease_id`,
  );
  // One message (a worker with one free slot, the common case): one statement, no ordering step.
  const claimOne = db.prepare<[string, number, string, number], ClaimRow & { seq: number }>(
    `UPDATE queue_messages SET lease_id = ?, deliveries = deliveries + 1, visible_at = ?
     WHERE seq = (SELECT seq FROM queue_messages WHERE queue = ? AND dead = 0 AND visible_at <= ?
                  ORDER BY priority DESC, visible_at, seq LIMIT 1)
     RETURNING seq, id, payload, priority, deliveries, lease_id`,
  );
  return {
    publish: db.prepare(
      `INSERT INTO queue_messages (queue, id, payload, priority, visible_at, enqueued_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (queue, id) DO NOTHING`,
    ),
    claimTx: db.transaction((queue: string, now: number, max: number, leaseId: string, until: number) => {
      if (max === 1) {
        const row = claimOne.get(leaseId, until, queue, now);
        return row ? [row] : [];
      }
      const seqs = pick.all(queue, now, max).map((r) => r.seq);
      if (seqs.length === 0) return [];
      const rows = claim.all(leaseId, until, JSON.stringify(seqs));
      const order = new Map(seqs.map((q, i) => [q, i]));
      return rows.sort((x, y) => (order.get(x.seq) ?? 0) - (order.get(y.seq) ?? 0));
    }),
    nextVisible: db.prepare<[string], { t: number | null }>(
      "SELECT MIN(visible_at) AS t FROM queue_messages WHERE queue = ? AND dead = 0",
    ),
    ack: db.prepare(`DELETE FROM queue_messages WHERE ${lease}`),
    nack: db.prepare(`UPDATE queue_messages SET visible_at = ?, lease_id = NULL WHERE ${lease}`),
    dead: db.prepare(`UPDATE queue_messages SET dead = 1, dead_reason = ?, lease_id = NULL WHERE ${lease}`),
    extend: db.prepare(`UPDATE queue_messages SET visible_at = ? WHERE ${lease}`),
    deadList: db.prepare<[string, number], DeadLetter>(
      `SELECT id, payload, dead_reason AS reason, deliveries FROM queue_messages
       WHERE queue = ? AND dead = 1 ORDER BY seq LIMIT ?`,
    ),
    stats: db.prepare<[number, number, string], QueueStats>(
      `SELECT COALESCE(SUM(dead = 0 AND (lease_id IS NULL OR visible_at <= ?)), 0) AS ready,
         COALESCE(SUM(dead = 0 AND lease_id IS NOT NULL AND visible_at > ?), 0) AS leased,
         COALESCE(SUM(dead = 1), 0) AS dead
       FROM queue_messages WHERE queue = ?`,
    ),
  };
}

/** Opens the SQLite queue on the store's file (its own connection, migrated like the store). */
export function openSqliteQueue(cfg: SqliteStoreConfig, opts: SqliteQueueOptions = {}): SqliteQueue {
  return new SqliteQueue(
    acquireSqliteDatabase(cfg),
    cfg.path === ":memory:" ? `mem:${Math.random()}` : cfg.path,
    opts,
  );
}
