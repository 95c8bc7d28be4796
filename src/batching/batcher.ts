import { abortReason } from "../core/context.js";

/** The flush rules of one queue (a model's `batching` config). */
export interface BatchSettings {
  maxBatchSize: number;
  maxQueueDelayUs: number;
  preferredBatchSizes: readonly number[];
  deadlineSlackMs: number;
}

/** What a runner gets: the members' inputs in queue order and what it may do with them. */
export interface Batch<In> {
  readonly key: string;
  readonly inputs: readonly In[];
  /** Items per member (the batch dimension of each), aligned with `inputs`. */
  readonly sizes: readonly number[];
  /** Aborted once every member has left (cancelled or past its deadline): the upstream work is unwanted. */
  readonly signal: AbortSignal;
  /** The latest member deadline (`Date.now()` based; Infinity when none has one). */
  readonly deadlineAt: number;
  /** Whether member `i` still waits for its answer. */
  live(i: number): boolean;
}

/** Runs one batch; answers one settled result per member, in member order (or throws for all). */
export type BatchRunner<In, Out> = (batch: Batch<In>) => Promise<Array<PromiseSettledResult<Out>>>;

/** Reports a batch leaving the queue: its items and how long each member waited (ms). */
export type FlushListener = (key: string, items: number, queueDelaysMs: readonly number[]) => void;

/** One submitted request. */
interface Entry<In, Out> {
  readonly input: In;
  readonly size: number;
  readonly signal: AbortSignal;
  readonly deadlineAt: number;
  readonly enqueuedAt: number;
  /** The latest moment (performance.now) this member may still wait in the queue. */
  readonly flushAt: number;
  state: "queued" | "flying" | "done";
  flight: Flight | undefined;
  readonly resolve: (out: Out) => void;
  readonly reject: (err: unknown) => void;
  readonly onAbort: () => void;
}

/** A batch on its way upstream: how many members still wait for it. */
interface Flight {
  live: number;
  readonly controller: AbortController;
}

interface Queue<In, Out> {
  settings: BatchSettings;
  entries: Array<Entry<In, Out>>;
  items: number;
  /** Earliest `flushAt` of the entries. */
  flushAt: number;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  checkScheduled: boolean;
}

/**
 * A generic dynamic micro-batcher. Requests are queued per compatibility key; a queue is flushed
 * when it holds `maxBatchSize` items, when a prefix of it forms one of `preferredBatchSizes`, or when
 * its oldest member has waited `maxQueueDelayUs` (earlier when a member's deadline is near). Each
 * flush is one `runner` call; its results are handed back per member. A member whose signal aborts
 * leaves at once: removed from the queue before the flush, its share dropped after it; when every
 * member of a flushed batch has left, the batch's signal aborts. A request of `maxBatchSize` items
 * or more is never merged: it runs alone at once.
 */
export class MicroBatcher<In, Out> {
  private readonly queues = new Map<string, Queue<In, Out>>();

  constructor(
    private readonly runner: BatchRunner<In, Out>,
    private readonly onFlush: FlushListener = () => {},
  ) {}

  /** Requests waiting in queues (not yet flushed), over every key. */
  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.entries.length;
    return n;
  }

  /**
   * Queues one request of `size` items under `key`; resolves with its own share of the batch's
   * answer, or rejects with the batch's error, or with the abort reason of `signal`.
   */
  submit(
    key: string,
    input: In,
    size: number,
    signal: AbortSignal,
    deadlineAt: number,
    settings: BatchSettings,
  ): Promise<Out> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise<Out>((resolve, reject) => {
      const now = performance.now();
      const hold = Math.min(
        settings.maxQueueDelayUs / 1000,
        Math.max(0, deadlineAt - Date.now() - settings.deadlineSlackMs),
      );
      const entry: Entry<In, Out> = {
        input,
        size,
        signal,
        deadlineAt,
        enqueuedAt: now,
        flushAt: now + hold,
        state: "queued",
        flight: undefined,
        resolve,
        reject,
        onAbort: () => this.leave(key, entry),
      };
      signal.addEventListener("abort", entry.onAbort, { once: true });
      if (size >= settings.maxBatchSize) {
        this.launch(key, [entry], now);
        return;
      }
      const q = this.queueFor(key, settings);
      q.entries.push(entry);
      q.items += size;
      q.flushAt = Math.min(q.flushAt, entry.flushAt);
      if (!q.checkScheduled) {
        // Checked once the event loop has read everything that arrived with it.
        q.checkScheduled = true;
        setImmediate(() => this.drain(key, q));
      }
    });
  }

  private queueFor(key: string, settings: BatchSettings): Queue<In, Out> {
    let q = this.queues.get(key);
    if (!q) {
      q = {
        settings,
        entries: [],
        items: 0,
        flushAt: Number.POSITIVE_INFINITY,
        timer: undefined,
        timerAt: Number.POSITIVE_INFINITY,
        checkScheduled: false,
      };
      this.queues.set(key, q);
    } else q.settings = settings;
    return q;
  }

  /** Flushes every batch the queue can form now, then arms its timer for the next due member. */
  private drain(key: string, q: Queue<In, Out>): void {
    q.checkScheduled = false;
    const s = q.settings;
    const now = performance.now();
    for (;;) {
      if (q.entries.length === 0) break;
      let take = 0;
      if (q.items >= s.maxBatchSize) take = fitting(q.entries, s.maxBatchSize);
      else take = preferredPrefix(q.entries, s.preferredBatchSizes);
      // Timers have millisecond resolution: a member due within the next millisecond goes now.
      if (take === 0 && q.flushAt - now < 1) take = fitting(q.entries, s.maxBatchSize);
      if (take === 0) break;
      const out = q.entries.splice(0, take);
      for (const e of out) q.items -= e.size;
      q.flushAt = earliest(q.entries);
      this.launch(key, out, now);
    }
    this.arm(key, q, now);
  }

  private arm(key: string, q: Queue<In, Out>, now: number): void {
    if (q.entries.length === 0) {
      if (q.timer) clearTimeout(q.timer);
      q.timer = undefined;
      q.timerAt = Number.POSITIVE_INFINITY;
      if (!q.checkScheduled && this.queues.get(key) === q) this.queues.delete(key);
      return;
    }
    if (q.timer && q.timerAt <= q.flushAt) return;
    if (q.timer) clearTimeout(q.timer);
    q.timerAt = q.flushAt;
    q.timer = setTimeout(
      () => {
        q.timer = undefined;
        q.timerAt = Number.POSITIVE_INFINITY;
        this.drain(key, q);
      },
      Math.max(1, Math.floor(q.flushAt - now)),
    );
  }

  /** A member's signal aborted: it leaves the queue, or its batch, and gets the abort reason. */
  private leave(key: string, e: Entry<In, Out>): void {
    if (e.state === "done") return;
    const reason = abortReason(e.signal);
    if (e.state === "queued") {
      const q = this.queues.get(key);
      const i = q ? q.entries.indexOf(e) : -1;
      if (q && i >= 0) {
        q.entries.splice(i, 1);
        q.items -= e.size;
        q.flushAt = earliest(q.entries);
        if (q.entries.length === 0) this.arm(key, q, performance.now());
      }
    }
    const flight = e.state === "flying" ? e.flight : undefined;
    e.state = "done";
    e.reject(reason);
    if (flight && --flight.live === 0) flight.controller.abort(reason);
  }

  /** Sends `entries` upstream as one batch and hands each member its result. */
  private launch(key: string, entries: Array<Entry<In, Out>>, now: number): void {
    const flight: Flight = { live: entries.length, controller: new AbortController() };
    let items = 0;
    let deadlineAt = Number.NEGATIVE_INFINITY;
    const delays: number[] = [];
    for (const e of entries) {
      e.state = "flying";
      e.flight = flight;
      items += e.size;
      deadlineAt = Math.max(deadlineAt, e.deadlineAt);
      delays.push(now - e.enqueuedAt);
    }
    this.onFlush(key, items, delays);
    const batch: Batch<In> = {
      key,
      inputs: entries.map((e) => e.input),
      sizes: entries.map((e) => e.size),
      signal: flight.controller.signal,
      deadlineAt,
      live: (i) => entries[i]?.state === "flying",
    };
    let running: Promise<Array<PromiseSettledResult<Out>>>;
    try {
      running = this.runner(batch);
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (results) => {
        entries.forEach((e, i) => {
          const r = results[i];
          if (r?.status === "fulfilled") settle(e, r.value, undefined, true);
          else settle(e, undefined, r ? r.reason : new Error("the batch answered no result"), false);
        });
      },
      (err: unknown) => {
        for (const e of entries) settle(e, undefined, err, false);
      },
    );
  }
}

function settle<In, Out>(e: Entry<In, Out>, value: Out | undefined, err: unknown, ok: boolean): void {
  if (e.state === "done") return;
  e.state = "done";
  e.signal.removeEventListener("abort", e.onAbort);
  if (ok) e.resolve(value as Out);
  else e.reject(err);
}

/** How many leading entries fit in `max` items (at least one: a lone entry is never held back). */
function fitting(entries: ReadonlyArray<{ size: number }>, max: number): number {
  let sum = 0;
  let n = 0;
  for (const e of entries) {
    if (n > 0 && sum + e.size > max) break;
    sum += e.size;
    n++;
  }
  return n;
}

/** How many leading entries form the largest preferred batch size exactly (0 when none does). */
function preferredPrefix(entries: ReadonlyArray<{ size: number }>, preferred: readonly number[]): number {
  if (preferred.length === 0) return 0;
  let sum = 0;
  let best = 0;
  for (let i = 0; i < entries.length; i++) {
    sum += (entries[i] as { size: number }).size;
    if (preferred.includes(sum)) best = i + 1;
  }
  return best;
}

function earliest(entries: ReadonlyArray<{ flushAt: number }>): number {
  let t = Number.POSITIVE_INFINITY;
  for (const e of entries) if (e.flushAt < t) t = e.flushAt;
  return t;
}
