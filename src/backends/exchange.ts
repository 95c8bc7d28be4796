import type { Dispatcher } from "undici";
import type { Cancellation } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import { SseParser } from "./sse.js";
import { parseRetryAfter, upstreamStatusError } from "./upstream-errors.js";

/**
 * Upstream HTTP exchanges driven by undici dispatch handlers: the answer's bytes are gathered (or
 * its SSE events queued) straight from the connection, with no stream object, async resource or
 * promise per chunk in between.
 */

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/** Largest error or JSON body read from an upstream (a runaway upstream cannot fill memory). */
export const MAX_UPSTREAM_BODY = 64 * 1024 * 1024;

/** A whole upstream answer. */
export interface UpstreamAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** An AbortSignal, or anything that reads like one. */
export interface AbortState {
  readonly aborted: boolean;
  readonly reason: unknown;
}

/** Maps undici and socket failures to the gateway's codes; an aborted call keeps its abort reason. */
export function mapTransportError(err: unknown, label: string, signal: AbortState): GatewayError {
  if (signal.aborted && signal.reason instanceof GatewayError) return signal.reason;
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code ?? "";
  const msg = (err as Error).message ?? String(err);
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return new GatewayError("upstream_timeout", `connecting to upstream ${label} timed out`, {
        cause: err,
      });
    case "UND_ERR_HEADERS_TIMEOUT":
      return new GatewayError("upstream_timeout", `upstream ${label} sent no response headers in time`, {
        cause: err,
      });
    case "UND_ERR_BODY_TIMEOUT":
      return new GatewayError("upstream_timeout", `upstream ${label} stalled while sending the body`, {
        cause: err,
      });
    default:
      return new GatewayError("upstream_unavailable", `upstream ${label} unreachable: ${code || msg}`, {
        cause: err,
      });
  }
}

function tooLarge(): GatewayError {
  return new GatewayError("upstream_bad_response", "upstream body exceeds 64 MiB");
}

/** What an exchange listens to once it is over: nothing. */
const ENDED: Cancellation = { aborted: false, reason: undefined, onAbort() {}, offAbort() {} };
const NO_HEADERS: Headers = Object.freeze({}) as Headers;

/**
 * Common part: the call's cancellation cancels the exchange, whether or not it reached a socket yet.
 *
 * An exchange lets go of everything it points to once it is over (`release`). undici may keep the
 * handler object a while after the request ended, and V8 may have allocated it in the old generation;
 * either way, while it still pointed at the request's young objects (answer, promise, request
 * context), every minor GC kept them alive and promoted them: megabytes per collection under load.
 */
abstract class Exchange implements Dispatcher.DispatchHandler {
  protected controller: Controller | undefined;
  protected status = 0;
  protected headers: Headers = NO_HEADERS;
  /** True once response headers arrived (later errors are body errors). */
  protected started = false;
  /** True once undici reported the end or an error: nothing of the request is left to cancel. */
  protected over = false;

  constructor(
    protected readonly label: string,
    protected signal: Cancellation,
  ) {}

  /** Drops what the exchange points to (call once nothing of it is needed any more). */
  protected release(): void {
    this.controller = undefined;
    this.headers = NO_HEADERS;
    this.signal = ENDED;
  }

  /**
   * Listens for cancellation before the request is dispatched; returns false (and refuses the call
   * with the cancellation's reason) when it has already happened: nothing should be sent then.
   */
  start(): boolean {
    if (this.signal.aborted) {
      this.refuse(mapTransportError(this.signal.reason, this.label, this.signal));
      return false;
    }
    this.signal.onAbort(this);
    return true;
  }

  /** Ends the call with an error before any answer was read. */
  protected abstract refuse(e: GatewayError): void;

  protected unwatch(): void {
    this.signal.offAbort(this);
  }

  /** Cancelled: cancel the request (at once, or as soon as undici hands it a connection). */
  handleEvent(): void {
    this.controller?.abort(this.signal.reason as Error);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(this.signal.reason as Error);
  }

  onResponseStart(_c: Controller, status: number, headers: Headers): void {
    if (status < 200) return;
    this.status = status;
    this.headers = headers;
    this.started = true;
  }

  /** The error a transport failure stands for: before the headers it names the endpoint, after them the body. */
  protected transportError(err: unknown): GatewayError {
    return mapTransportError(err, this.started ? "body" : this.label, this.signal);
  }
}

/** Gathers a whole answer (JSON, or an error's text) within `MAX_UPSTREAM_BODY`. */
class BodyExchange extends Exchange {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    label: string,
    signal: Cancellation,
    private resolve: (a: UpstreamAnswer) => void,
    private reject: (e: GatewayError) => void,
  ) {
    super(label, signal);
  }

  protected override release(): void {
    super.release();
    this.chunks = [];
    this.resolve = noop;
    this.reject = noop;
  }

  protected refuse(e: GatewayError): void {
    this.reject(e);
  }

  onResponseData(c: Controller, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > MAX_UPSTREAM_BODY) {
      this.chunks = [];
      c.abort(tooLarge());
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.over = true;
    this.unwatch();
    const { chunks, resolve } = this;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.size);
    const answer = { status: this.status, headers: this.headers, body };
    this.release();
    resolve(answer);
  }

  onResponseError(_c: Controller, err: Error): void {
    this.over = true;
    this.unwatch();
    const { reject } = this;
    const e = this.transportError(err);
    this.release();
    reject(e);
  }
}

function noop(): void {}

/** Sends one request and gathers its whole answer. */
export function exchangeBody(
  pool: Dispatcher,
  opts: Dispatcher.DispatchOptions,
  label: string,
  signal: Cancellation,
): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const handler = new BodyExchange(label, signal, resolve, reject);
    if (handler.start()) pool.dispatch(opts, handler);
  });
}

/** The parser of an exchange that is over (it is never fed again). */
const EMPTY_PARSER = new SseParser();

/** Events queued ahead of the reader before the upstream connection is paused. */
const HIGH_WATER_EVENTS = 64;

/**
 * A streamed answer: resolves `opened` once the upstream answered with an event stream, then yields
 * the data of each event (`[DONE]` ends it). Errors and ends without `[DONE]` throw `stream_interrupted`.
 */
export class SseExchange extends Exchange implements AsyncIterableIterator<string> {
  private parser = new SseParser();
  private queue: string[] = [];
  private head = 0;
  /** `[DONE]` seen: nothing more is read from the upstream. */
  private done = false;
  /** What the reader gets once the queue is empty: the end (undefined) or an error. */
  private failure: GatewayError | undefined;
  private finished = false;
  private waiter: { resolve: (r: IteratorResult<string>) => void; reject: (e: unknown) => void } | undefined;
  /** Gathers an error answer's text (status >= 400) instead of events. */
  private errorText: Buffer[] | undefined;
  private errorSize = 0;
  private opened = false;

  constructor(
    label: string,
    signal: Cancellation,
    private onOpen: (events: SseExchange) => void,
    private onRefuse: (e: GatewayError) => void,
  ) {
    super(label, signal);
  }

  /** Lets go of everything once undici is done with the request and the reader is done with the events. */
  private settle(): void {
    if (!this.over || !this.finished) return;
    this.release();
    this.onOpen = noop;
    this.onRefuse = noop;
    this.errorText = undefined;
    this.parser = EMPTY_PARSER;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  override onResponseStart(c: Controller, status: number, headers: Headers): void {
    super.onResponseStart(c, status, headers);
    if (status < 200) return;
    if (status >= 400) {
      this.errorText = [];
      return;
    }
    const ctype = String(headers["content-type"] ?? "");
    if (!ctype.includes("text/event-stream")) {
      this.refuse(
        new GatewayError(
          "upstream_bad_response",
          `upstream ${this.label} answered a stream request with ${ctype || "no content type"}`,
        ),
      );
      c.abort(new Error("not an event stream"));
      return;
    }
    this.opened = true;
    this.onOpen(this);
  }

  onResponseData(c: Controller, chunk: Buffer): void {
    if (this.errorText) {
      this.errorSize += chunk.length;
      if (this.errorSize > MAX_UPSTREAM_BODY) {
        this.errorText = [];
        c.abort(tooLarge());
      } else this.errorText.push(chunk);
      return;
    }
    if (this.done || this.finished) return;
    for (const data of this.parser.push(chunk)) {
      if (data === "[DONE]") {
        this.done = true;
        break;
      }
      this.queue.push(data);
    }
    this.wake();
    if (this.queue.length - this.head >= HIGH_WATER_EVENTS) c.pause();
  }

  onResponseEnd(): void {
    this.over = true;
    this.unwatch();
    if (this.errorText) {
      const text = Buffer.concat(this.errorText).toString("utf8");
      const retryAfter = parseRetryAfter(this.headers["retry-after"]);
      this.refuse(upstreamStatusError(this.status, text, this.label, retryAfter));
      this.settle();
      return;
    }
    if (!this.done) {
      this.failure = new GatewayError(
        "stream_interrupted",
        `stream from upstream ${this.label} ended without [DONE]`,
      );
    }
    this.done = true;
    this.wake();
    this.settle();
  }

  onResponseError(_c: Controller, err: Error): void {
    this.over = true;
    this.unwatch();
    if (!this.opened) {
      this.refuse(this.transportError(err));
      this.settle();
      return;
    }
    if (this.done || this.finished) {
      this.settle();
      return;
    }
    const mapped = mapTransportError(err, this.label, this.signal);
    this.failure = this.signal.aborted
      ? mapped
      : new GatewayError(
          "stream_interrupted",
          `stream from upstream ${this.label} broke off: ${mapped.message}`,
          {
            cause: err,
          },
        );
    this.done = true;
    this.wake();
    this.settle();
  }

  next(): Promise<IteratorResult<string>> {
    if (this.head < this.queue.length || this.done || this.finished) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The reader stopped: the upstream request is cancelled unless it already ended. */
  return(): Promise<IteratorResult<string>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  protected refuse(e: GatewayError): void {
    if (this.finished) return;
    this.finished = true;
    this.onRefuse(e);
  }

  /** The next result for the reader (throws the stream's failure once the queue is empty). */
  private take(): IteratorResult<string> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++] as string;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
        if (!this.over && this.controller?.paused) this.controller.resume();
      }
      return { done: false, value };
    }
    const failure = this.failure;
    this.close();
    if (failure) throw failure;
    return { done: true, value: undefined };
  }

  private wake(): void {
    const w = this.waiter;
    if (!w || (this.head >= this.queue.length && !this.done)) return;
    this.waiter = undefined;
    try {
      w.resolve(this.take());
    } catch (err) {
      w.reject(err);
    }
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = undefined;
    this.queue = [];
    this.head = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ done: true, value: undefined });
    if (!this.over) {
      this.unwatch();
      this.controller?.abort(new Error("the reader stopped"));
    }
    this.settle();
  }
}

/** Sends one streaming request; resolves with its events once the upstream answered with an event stream. */
export function exchangeEvents(
  pool: Dispatcher,
  opts: Dispatcher.DispatchOptions,
  label: string,
  signal: Cancellation,
): Promise<AsyncIterableIterator<string>> {
  return new Promise((resolve, reject) => {
    const handler = new SseExchange(label, signal, resolve, reject);
    if (handler.start()) pool.dispatch(opts, handler);
  });
}
