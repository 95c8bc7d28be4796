import { GatewayError } from "../core/errors.js";
import { type SimCall, SimEngine, type SimSink } from "../sim/engine.js";
import type { SimSettings } from "../sim/settings.js";
import type { Backend, UpstreamCall, UpstreamJson, UpstreamStream } from "./types.js";
import { upstreamStatusError } from "./upstream-errors.js";

/**
 * The sim backend: a simulated model running inside the gateway process, no sockets. It answers with
 * the same JSON text as `switchyard sim` over HTTP, and its failures surface as the openai adapter
 * would surface the same failures from a real server.
 */
export function createSimBackend(settings: SimSettings, label: string): Backend {
  const engine = new SimEngine(settings);
  const attempts = new AttemptCounter(10_000);
  return {
    kind: "sim",
    label,
    invoke: (call) => invokeSim(engine, label, call, attempts.next(call.requestId)),
    stream: (call) => streamSim(engine, label, call, attempts.next(call.requestId)),
    close: async () => engine.close(),
  };
}

/** Counts calls per request id (for `seq`), keeping the most recently used ids only. */
class AttemptCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  next(requestId: string): number {
    if (requestId === "") return 1;
    const n = (this.counts.get(requestId) ?? 0) + 1;
    this.counts.delete(requestId);
    this.counts.set(requestId, n);
    if (this.counts.size > this.capacity) this.counts.delete(this.counts.keys().next().value as string);
    return n;
  }
}

function faultHeader(headers: Record<string, string>): string | undefined {
  const direct = headers["x-sim-fault"];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === "x-sim-fault") return v;
  return undefined;
}

function simCall(call: UpstreamCall, stream: boolean, signal: AbortSignal, attempt: number): SimCall {
  return { op: call.op, body: call.body, stream, fault: faultHeader(call.headers), attempt, signal };
}

function resetError(label: string): GatewayError {
  return new GatewayError(
    "upstream_unavailable",
    `upstream ${label} unreachable: connection reset (simulated)`,
  );
}

function invokeSim(
  engine: SimEngine,
  label: string,
  call: UpstreamCall,
  attempt: number,
): Promise<UpstreamJson> {
  return new Promise((resolve, reject) => {
    const { signal } = call;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal.removeEventListener("abort", onAbort);
    const sink: SimSink = {
      start() {},
      event() {},
      end() {},
      json(status, body, usage, retryAfter) {
        settle();
        if (status >= 400) reject(upstreamStatusError(status, body, label, retryAfter));
        else resolve({ payload: body, usage });
      },
      reset() {
        settle();
        reject(resetError(label));
      },
    };
    engine.handle(simCall(call, false, signal, attempt), sink);
  });
}

/** The events of one stream, pushed by the engine and pulled by the gateway. */
class EventQueue implements AsyncIterableIterator<string> {
  private items: string[] = [];
  private head = 0;
  private closed = false;
  private error: unknown;
  private failed = false;
  private waiter: { resolve: (r: IteratorResult<string>) => void; reject: (e: unknown) => void } | undefined;

  constructor(private readonly stop: () => void) {}

  push(data: string): void {
    if (this.waiter) this.take().resolve({ value: data, done: false });
    else this.items.push(data);
  }

  close(): void {
    this.closed = true;
    if (this.waiter) this.take().resolve({ value: undefined, done: true });
  }

  fail(err: unknown): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.error = err;
    if (this.waiter) this.take().reject(err);
  }

  next(): Promise<IteratorResult<string>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++]!;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failed) return Promise.reject(this.error);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The consumer stopped early: stop the sequence as a closed connection would. */
  return(): Promise<IteratorResult<string>> {
    if (!this.closed && !this.failed) this.stop();
    this.closed = true;
    this.items = [];
    this.head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<string> {
    return this;
  }

  private take() {
    const w = this.waiter!;
    this.waiter = undefined;
    return w;
  }
}

function streamSim(
  engine: SimEngine,
  label: string,
  call: UpstreamCall,
  attempt: number,
): Promise<UpstreamStream> {
  return new Promise((resolve, reject) => {
    if (call.signal.aborted) {
      reject(call.signal.reason);
      return;
    }
    const inner = new AbortController();
    const forward = () => inner.abort(call.signal.reason);
    call.signal.addEventListener("abort", forward, { once: true });
    const queue = new EventQueue(() => inner.abort(new Error("stream consumer stopped")));
    let started = false;
    const settle = () => call.signal.removeEventListener("abort", forward);
    inner.signal.addEventListener("abort", () => {
      settle();
      if (started) queue.fail(inner.signal.reason);
      else reject(inner.signal.reason);
    });
    const sink: SimSink = {
      start() {
        started = true;
        resolve({ events: queue });
      },
      event: (data) => queue.push(data),
      end() {
        settle();
        queue.close();
      },
      json(status, body, _usage, retryAfter) {
        settle();
        reject(upstreamStatusError(status, body, label, retryAfter));
      },
      reset() {
        settle();
        if (!started) reject(resetError(label));
        else
          queue.fail(
            new GatewayError(
              "stream_interrupted",
              `stream from upstream ${label} broke off (simulated reset)`,
            ),
          );
      },
    };
    engine.handle(simCall(call, true, inner.signal, attempt), sink);
  });
}
