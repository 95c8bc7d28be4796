import type { ClockHandle, ClockTask, SharedClock } from "./clock.js";
import type { PrefixCache } from "./prefix-cache.js";

/**
 * Continuous batching as an LLM serving engine does it: at most `maxRunningSeqs` sequences run at
 * once; the rest wait in FIFO order (beyond `maxWaitingSeqs` a request is refused). A sequence
 * admitted to the batch pays its prefill (`ttftBaseMs` + `ttftPerPromptTokenMs` per uncached prompt
 * token), then produces one token per inter-token latency, which grows with the number of running
 * sequences. A finished or cancelled sequence frees its slot at once and the next waiting one starts.
 */

export interface BatchCosts {
  ttftBaseMs: number;
  ttftPerPromptTokenMs: number;
  itlBaseMs: number;
  itlPerRunningSeqMs: number;
  maxRunningSeqs: number;
  maxWaitingSeqs: number;
}

export interface SeqSpec {
  promptTokens: readonly string[];
  /** Tokens to produce before finishing. */
  outputTokens: number;
  /** Replaces the computed prefill time (queueing still applies). */
  ttftMs?: number;
  /** Replaces the computed inter-token latency. */
  itlMs?: number;
  /** Stop producing after this many tokens and hold the slot until cancelled. */
  stallAfterTokens?: number;
}

export interface SeqHooks {
  /** Prefill is over: the answer starts now (the first token follows at once). */
  onStart(): void;
  /** Token number `index` (from 0) was produced. */
  onToken(index: number): void;
  /** The last token was produced; the slot is already free. */
  onFinish(): void;
}

type SeqState = "waiting" | "prefill" | "decoding" | "stalled" | "done" | "cancelled";

export class Sequence implements ClockTask {
  state: SeqState = "waiting";
  produced = 0;
  cachedTokens = 0;
  /** The pending tick on the clock. */
  timer: ClockHandle | undefined;

  constructor(
    readonly spec: SeqSpec,
    readonly hooks: SeqHooks,
    private readonly batch: BatchScheduler,
  ) {}

  fire(due: number): void {
    this.batch.step(this, due);
  }

  cancel(): void {
    this.batch.cancel(this);
  }
}

export class BatchScheduler {
  private readonly running = new Set<Sequence>();
  private queue: Sequence[] = [];
  private head = 0;
  private waitingCount = 0;
  promptTokens = 0;
  completionTokens = 0;

  constructor(
    private readonly costs: BatchCosts,
    private readonly clock: SharedClock,
    private readonly cache: PrefixCache | undefined,
  ) {}

  get runningCount(): number {
    return this.running.size;
  }

  get waitingSeqs(): number {
    return this.waitingCount;
  }

  /** Starts or queues a sequence; `undefined` when the waiting queue is full (overloaded). */
  submit(spec: SeqSpec, hooks: SeqHooks): Sequence | undefined {
    const seq = new Sequence(spec, hooks, this);
    if (this.running.size < this.costs.maxRunningSeqs) {
      this.admit(seq, this.clock.now());
    } else if (this.waitingCount < this.costs.maxWaitingSeqs) {
      this.queue.push(seq);
      this.waitingCount++;
    } else {
      return undefined;
    }
    this.promptTokens += spec.promptTokens.length;
    return seq;
  }

  cancel(seq: Sequence): void {
    if (seq.state === "waiting") {
      seq.state = "cancelled";
      this.waitingCount--;
    } else if (seq.state === "prefill" || seq.state === "decoding" || seq.state === "stalled") {
      this.release(seq, "cancelled", this.clock.now());
    }
  }

  /** One clock tick of one sequence: end of prefill, or one decode step. */
  step(seq: Sequence, due: number): void {
    if (seq.state === "prefill") {
      seq.state = "decoding";
      seq.hooks.onStart();
      if (this.stalls(seq)) return;
    }
    if (seq.state !== "decoding") return;
    const index = seq.produced++;
    this.completionTokens++;
    seq.hooks.onToken(index);
    if (seq.state !== "decoding") return;
    if (seq.produced >= seq.spec.outputTokens) {
      this.release(seq, "done", due);
      seq.hooks.onFinish();
      return;
    }
    if (this.stalls(seq)) return;
    seq.timer = this.clock.at(due + (seq.spec.itlMs ?? this.itlMs()), seq);
  }

  private stalls(seq: Sequence): boolean {
    if (seq.state !== "decoding") return true;
    const limit = seq.spec.stallAfterTokens;
    if (limit === undefined || seq.produced < limit) return false;
    seq.state = "stalled";
    return true;
  }

  private itlMs(): number {
    return this.costs.itlBaseMs + this.costs.itlPerRunningSeqMs * this.running.size;
  }

  private admit(seq: Sequence, now: number): void {
    seq.state = "prefill";
    this.running.add(seq);
    const prompt = seq.spec.promptTokens;
    seq.cachedTokens = this.cache ? this.cache.lookupAndInsert(prompt) : 0;
    const prefill =
      seq.spec.ttftMs ??
      this.costs.ttftBaseMs + this.costs.ttftPerPromptTokenMs * (prompt.length - seq.cachedTokens);
    seq.timer = this.clock.at(now + prefill, seq);
  }

  private release(seq: Sequence, state: "done" | "cancelled", now: number): void {
    seq.state = state;
    this.clock.cancel(seq.timer);
    seq.timer = undefined;
    if (!this.running.delete(seq)) return;
    while (this.running.size < this.costs.maxRunningSeqs && this.waitingCount > 0) {
      const next = this.dequeue();
      if (next) this.admit(next, now);
    }
  }

  private dequeue(): Sequence | undefined {
    while (this.head < this.queue.length) {
      const seq = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (seq.state === "waiting") {
        this.waitingCount--;
        return seq;
      }
    }
    return undefined;
  }
}
