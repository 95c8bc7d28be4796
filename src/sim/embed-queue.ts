import type { ClockHandle, ClockTask, SharedClock } from "./clock.js";

/**
 * An encoder replica: a call costs `perCallMs` + `perItemMs` per input, and at most
 * `maxConcurrentCalls` calls run at once; the rest wait in FIFO order (up to `maxWaiting`).
 */

export interface EmbedCosts {
  perCallMs: number;
  perItemMs: number;
  maxConcurrentCalls: number;
  maxWaiting: number;
}

export class EmbedJob implements ClockTask {
  state: "waiting" | "running" | "done" | "cancelled" = "waiting";
  timer: ClockHandle | undefined;

  constructor(
    readonly items: number,
    readonly onDone: () => void,
    private readonly queue: EmbedQueue,
  ) {}

  fire(due: number): void {
    this.queue.complete(this, due);
  }

  cancel(): void {
    this.queue.cancel(this);
  }
}

export class EmbedQueue {
  private runningCount = 0;
  private readonly waiting: EmbedJob[] = [];
  items = 0;

  constructor(
    private readonly costs: EmbedCosts,
    private readonly clock: SharedClock,
  ) {}

  get running(): number {
    return this.runningCount;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Starts or queues a call; `undefined` when the waiting queue is full. */
  submit(items: number, onDone: () => void): EmbedJob | undefined {
    const job = new EmbedJob(items, onDone, this);
    if (this.runningCount < this.costs.maxConcurrentCalls) this.start(job, this.clock.now());
    else if (this.waiting.length < this.costs.maxWaiting) this.waiting.push(job);
    else return undefined;
    return job;
  }

  complete(job: EmbedJob, due: number): void {
    if (job.state !== "running") return;
    job.state = "done";
    this.items += job.items;
    this.finish(due);
    job.onDone();
  }

  cancel(job: EmbedJob): void {
    if (job.state === "waiting") {
      job.state = "cancelled";
      const i = this.waiting.indexOf(job);
      if (i >= 0) this.waiting.splice(i, 1);
    } else if (job.state === "running") {
      job.state = "cancelled";
      this.clock.cancel(job.timer);
      this.finish(this.clock.now());
    }
  }

  private start(job: EmbedJob, now: number): void {
    job.state = "running";
    this.runningCount++;
    job.timer = this.clock.at(now + this.costs.perCallMs + this.costs.perItemMs * job.items, job);
  }

  private finish(now: number): void {
    this.runningCount--;
    const next = this.waiting.shift();
    if (next) this.start(next, now);
  }
}
