import pino, { type Logger } from "pino";
import type { RequestContext } from "../core/context.js";

export type { Logger } from "pino";

/** Credentials: never reach a log line. */
export const SECRET_PATHS = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "*.authorization",
  'headers["x-api-key"]',
  'req.headers["x-api-key"]',
  "*.apiKey",
  "apiKey",
  "api_key",
  "*.api_key",
  "adminKey",
  "*.adminKey",
  "token",
  "*.token",
];

/** Prompt and message text: redacted unless `logging.logPrompts` is true. */
export const PROMPT_PATHS = [
  "messages",
  "*.messages",
  "prompt",
  "*.prompt",
  "input",
  "*.input",
  "content",
  "*.content",
];

/** Paths that never reach a log line by default: credentials and prompt text. */
export const REDACT_PATHS = [...SECRET_PATHS, ...PROMPT_PATHS];

let isoSecond = Number.NaN;
let isoPrefix = "";

/** `new Date().toISOString()`, with the part up to the second formatted once per second. */
export function isoNow(now = Date.now()): string {
  const ms = now % 1000;
  const second = now - ms;
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second).toISOString().slice(0, 20);
  }
  return `${isoPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`;
}

/**
 * Writes one access line per request: a flat object of numbers and short strings (never named
 * `level`, `time`, `service` or `msg`, which every line has already).
 */
export interface AccessLog {
  write(fields: Record<string, string | number>): void;
}

/**
 * The fields of one request's access line, whichever front door served it (HTTP adds nothing;
 * gRPC adds `protocol` and `grpc_status`). Prompt text and credentials never appear here.
 */
export function accessFields(
  ctx: RequestContext,
  method: string,
  route: string,
  status: number,
): Record<string, string | number> {
  const line: Record<string, string | number> = {
    trace_id: ctx.traceId,
    span_id: ctx.spanId,
    request_id: ctx.requestId,
    method,
    route,
    status,
    latency_ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
  };
  if (ctx.model) line.model = ctx.model;
  if (ctx.endpoint) line.endpoint = ctx.endpoint;
  if (ctx.ttftMs !== undefined) line.ttft_ms = Math.round(ctx.ttftMs * 1000) / 1000;
  if (ctx.usage) {
    line.input_tokens = ctx.usage.prompt_tokens;
    line.output_tokens = ctx.usage.completion_tokens;
  }
  if (ctx.errorCode) line.error_code = ctx.errorCode;
  return line;
}

/** An access log on top of any pino logger (used when a caller brings its own logger). */
export function accessLogFrom(logger: Logger): AccessLog {
  return { write: (fields) => logger.info(fields, "request") };
}

export interface Logging {
  /** Lifecycle and error lines, with secrets and prompt text redacted wherever they appear. */
  logger: Logger;
  /** Access lines: built from fixed fields that never hold secrets, so they skip pino's serialiser. */
  access: AccessLog;
  /** Writes out whatever is buffered (call before exit). */
  flush(): void;
}

const base = (level: string) => ({
  level,
  base: { service: "switchyard" },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
});

/** Access lines gathered before they go to the writer in one string. */
const ACCESS_BATCH_CHARS = 32 * 1024;
/** The longest an access line waits to be written. */
const ACCESS_BATCH_MS = 100;

/**
 * The destination of one gateway's lines. Access lines (one per request) are gathered and handed
 * to the writer 32 KiB at a time: each write to stdout is a call into libuv's thread pool that
 * costs far more than building the line, and the writer's own buffer re-measures its whole pending
 * string on every line. Any other line first pushes out what is gathered, so lines keep their order.
 */
class BatchedDestination implements pino.DestinationStream {
  private lines: string[] = [];
  private chars = 0;
  /** Drains what is gathered `ACCESS_BATCH_MS` after the first line of a batch; none while nothing waits. */
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sink: pino.DestinationStream) {}

  /** An access line: gathered with others. */
  queue(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= ACCESS_BATCH_CHARS) this.drain();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.drain();
      }, ACCESS_BATCH_MS);
      this.timer.unref();
    }
  }

  /** Any other line: after what is gathered. */
  write(line: string): void {
    this.drain();
    this.sink.write(line);
  }

  /** What `logger.flush()` calls: gathered lines go to the writer, and the writer writes them out. */
  flush(cb?: (err?: Error) => void): void {
    this.drain();
    const sink = this.sink as { flush?: (cb?: (err?: Error) => void) => void };
    if (typeof sink.flush === "function") sink.flush(cb);
    else cb?.();
  }

  /** Hands what is gathered to the writer. */
  drain(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join("");
    this.lines = [];
    this.chars = 0;
    this.sink.write(text);
  }
}

/**
 * The JSON loggers of one gateway, sharing one stdout writer: access lines are written in 32 KiB
 * batches or 100 ms after the first line of a batch instead of one write call per line (no timer
 * runs while no line waits, so an idle process is not woken); other lines go to the writer at once.
 */
export function createLogging(opts: {
  level: string;
  /** Let prompt text through (credentials stay redacted). */
  logPrompts?: boolean;
  destination?: pino.DestinationStream;
}): Logging {
  // No minimum length: the writer starts a write as soon as it is idle and gathers what comes while
  // one is in flight into the next. With a minimum, lines left below it when a write completes wait
  // for a flush, and a flush that finds a write in flight does nothing, so a line (such as the one
  // saying the gateway listens) could sit unwritten in an idle process.
  const sonic = opts.destination ? undefined : pino.destination({ dest: 1, sync: false, minLength: 0 });
  const dest = new BatchedDestination(opts.destination ?? (sonic as pino.DestinationStream));
  const logger = pino(
    {
      ...base(opts.level),
      redact: { paths: opts.logPrompts ? SECRET_PATHS : REDACT_PATHS, censor: "[redacted]" },
    },
    dest,
  );
  const infoEnabled = logger.isLevelEnabled("info");
  // The same line pino would write, built around one JSON.stringify: this runs once per request.
  const access: AccessLog = {
    write(fields) {
      if (!infoEnabled) return;
      const inner = JSON.stringify(fields);
      const sep = inner.length > 2 ? "," : "";
      dest.queue(
        `{"level":"info","time":"${isoNow()}","service":"switchyard"${sep}${inner.slice(1, -1)},"msg":"request"}\n`,
      );
    },
  };
  return {
    logger,
    access,
    flush() {
      dest.drain();
      sonic?.flushSync();
    },
  };
}

/** A single redacting logger (for tools that log only lifecycle lines). */
export function createLogger(opts: { level: string }): Logger {
  return createLogging(opts).logger;
}
