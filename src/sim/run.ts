import type { Usage } from "../core/types.js";
import { ClockDelay, type SharedClock } from "./clock.js";
import { problemBody, type SimProblem } from "./problem.js";

/**
 * Where an engine's answer goes: the HTTP server writes it to a socket, the in-process adapter hands
 * it to the gateway. Exactly one of `json`, `end` or `reset` ends an answer; a hung answer never ends
 * (until the caller aborts, after which the sink is not called again).
 */
export interface SimSink {
  /** A stream's headers are due now; its events follow. */
  start(): void;
  /** One SSE `data:` payload. */
  event(data: string): void;
  /** The stream is complete (`data: [DONE]`). */
  end(): void;
  /** A whole JSON answer with its status. */
  json(status: number, body: string, usage: Usage | undefined, retryAfterSeconds?: number): void;
  /** The connection breaks: before headers, after some stream events, or (`partialBody`) mid-body. */
  reset(partialBody?: string): void;
}

export interface Cancellable {
  cancel(): void;
}

/** One request inside an engine: guards the sink, follows the abort signal, owns the current stage. */
export class Run {
  private done = false;
  private stage: Cancellable | undefined;
  private readonly onAbort = (): void => {
    this.stage?.cancel();
    this.finish();
  };

  constructor(
    private readonly sink: SimSink,
    private readonly signal: AbortSignal,
    private readonly active: Set<Run>,
  ) {
    active.add(this);
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  get finished(): boolean {
    return this.done;
  }

  /** The work in progress that an abort must stop (a delay, a sequence or an embedding call). */
  setStage(stage: Cancellable | undefined): void {
    this.stage = stage;
  }

  after(clock: SharedClock, delayMs: number, next: () => void): void {
    if (delayMs <= 0) {
      next();
      return;
    }
    this.stage = new ClockDelay(clock, delayMs, next);
  }

  start(): void {
    if (!this.done) this.sink.start();
  }

  event(data: string): void {
    if (!this.done) this.sink.event(data);
  }

  end(): void {
    if (this.done) return;
    this.finish();
    this.sink.end();
  }

  json(status: number, body: string, usage?: Usage, retryAfterSeconds?: number): void {
    if (this.done) return;
    this.finish();
    this.sink.json(status, body, usage, retryAfterSeconds);
  }

  problem(p: SimProblem): void {
    this.json(p.status, problemBody(p), undefined, p.retryAfterSeconds);
  }

  reset(partialBody?: string): void {
    if (this.done) return;
    this.stage?.cancel();
    this.finish();
    this.sink.reset(partialBody);
  }

  private finish(): void {
    this.done = true;
    this.stage = undefined;
    this.signal.removeEventListener("abort", this.onAbort);
    this.active.delete(this);
  }
}
