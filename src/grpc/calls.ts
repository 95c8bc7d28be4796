/**
 * The life of one gRPC call, shared by every handler: context, drain check, deadline, auth, the
 * error → status mapping, the settlement of limits, metrics, span and access line. Handlers only
 * turn messages into router calls and back.
 */
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  type ServerWritableStream,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import { ANONYMOUS, type Principal } from "../auth/principal.js";
import type { Config } from "../config/schema.js";
import { abortReason, type RequestContext } from "../core/context.js";
import { GatewayError, toGatewayError } from "../core/errors.js";
import type { Operation } from "../core/types.js";
import { defaultDeadlineMs } from "../http/request-options.js";
import type { Observability } from "../observability/index.js";
import { type AccessLog, accessFields, type Logger } from "../observability/logger.js";
import type { Gate } from "../policy/gate.js";
import { applyDeadline, authHeaders, contextFor, type ServerSurfaceCall } from "./context.js";
import { toServiceError } from "./status.js";

const NO_USAGE = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

/** Stands in for a request message that did not decode (see `tolerantService`). */
class MalformedMessage {
  constructor(readonly reason: string) {}
}

/**
 * The service with request decoding that never throws: grpc-js answers a message that fails to
 * decode with INTERNAL ("Error deserializing request"), a server fault in every dashboard. A
 * message that does not decode reaches the handler as a `MalformedMessage`, and the call fails
 * with `invalid_request` (INVALID_ARGUMENT) like any other bad request: with its trace id, error
 * code, metrics and access line.
 */
export function tolerantService(def: ServiceDefinition): ServiceDefinition {
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [name, m] of Object.entries(def)) {
    const decode = m.requestDeserialize;
    out[name] = {
      ...m,
      requestDeserialize: (buf: Buffer) => {
        try {
          return decode(buf);
        } catch (err) {
          return new MalformedMessage((err as Error).message);
        }
      },
    };
  }
  return out;
}

/** Throws `invalid_request` for a request message that did not decode. */
function wellFormed(request: unknown, path: string): void {
  if (request instanceof MalformedMessage) {
    const method = path.slice(path.lastIndexOf("/") + 1);
    throw new GatewayError(
      "invalid_request",
      `The request message is not a valid ${method} request: ${request.reason.slice(0, 200)}.`,
    );
  }
}

export interface CallDeps {
  config: Config;
  gate: Gate;
  logger: Logger;
  accessLogger: AccessLog;
  observability?: Observability;
  /** Calls in flight on this front door, so shutdown can cut what outlives the grace period. */
  inFlight: Set<RequestContext>;
  isDraining(): boolean;
}

export class CallScope {
  readonly ctx: RequestContext;
  private readonly detach: () => void;
  private readonly initial = new Metadata();
  private headersSent = false;

  constructor(
    private readonly d: CallDeps,
    readonly call: ServerSurfaceCall,
    readonly path: string,
  ) {
    const { ctx, detach } = contextFor(call);
    this.ctx = ctx;
    this.detach = detach;
    d.inFlight.add(this.ctx);
    d.observability?.requestStart(this.ctx, "POST", path);
    this.initial.set("x-request-id", this.ctx.requestId);
    this.initial.set("traceparent", this.ctx.traceparent);
  }

  /** Refuses the call while draining, then arms its deadline (the operation's default, if any). */
  start(op: Operation | undefined): void {
    if (this.d.isDraining()) throw new GatewayError("shutting_down", "The gateway is shutting down.");
    const { deadlines } = this.d.config;
    applyDeadline(this.ctx, this.call, op && defaultDeadlineMs(op, deadlines), deadlines);
  }

  /** Re-arms the deadline with a default known only once the call is read (a pipeline's timeout). */
  deadlineFrom(defaultMs: number): void {
    applyDeadline(this.ctx, this.call, defaultMs, this.d.config.deadlines);
  }

  /** The caller, from `authorization` or `x-api-key` metadata (anonymous with auth.mode none). */
  async principal(): Promise<Principal> {
    if (this.d.gate.open) return ANONYMOUS;
    return await this.d.gate.authenticate(authHeaders(this.call.metadata), this.ctx);
  }

  /** Adds response metadata (sent with the first message or the answer). */
  header(key: string, value: string): void {
    this.initial.set(key, value);
  }

  sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.call.sendMetadata(this.initial);
  }

  /** Writes one message of a server stream, waiting while the client is slow to read. */
  async write<T>(call: ServerWritableStream<unknown, T>, msg: T): Promise<void> {
    this.sendHeaders();
    this.ctx.streamStarted = true;
    if (call.write(msg)) return;
    const { signal } = this.ctx;
    await new Promise<void>((resolve) => {
      const done = () => {
        call.off("drain", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      call.once("drain", done);
      signal.addEventListener("abort", done, { once: true });
    });
    if (this.ctx.signal.aborted) throw abortReason(this.ctx.signal);
  }

  /** What an error becomes: the abort reason when the call was aborted, else the error itself. */
  fail(err: unknown): GatewayError {
    const e = this.ctx.signal.aborted ? abortReason(this.ctx.signal) : toGatewayError(err);
    if (e.code === "internal_error") {
      this.d.logger.error({ err, trace_id: this.ctx.traceId, span_id: this.ctx.spanId }, "unexpected error");
    }
    this.ctx.errorCode = e.code;
    return e;
  }

  statusOf(e: GatewayError) {
    return toServiceError(e, { traceId: this.ctx.traceId, requestId: this.ctx.requestId });
  }

  /** Settles limits and usage, then records metrics, span and access line. */
  end(err?: GatewayError): void {
    const { ctx } = this;
    this.detach();
    this.d.inFlight.delete(ctx);
    ctx.finish();
    ctx.ticket?.finish(ctx.usage ?? (ctx.streamStarted ? null : NO_USAGE));
    const status = err ? err.status : 200;
    this.d.observability?.requestEnd(ctx, this.path, status);
    if (this.d.config.logging.accessLog) this.accessLine(status, err ? err.spec.grpc : 0);
  }

  private accessLine(status: number, grpcStatus: number): void {
    const line = accessFields(this.ctx, "POST", this.path, status);
    line.protocol = "grpc";
    line.grpc_status = grpcStatus;
    this.d.accessLogger.write(line);
  }
}

/** A unary handler around `run`: the answer, or the error as a status. */
export function unary<Req, Res>(
  d: CallDeps,
  path: string,
  op: Operation | undefined,
  run: (req: Req, s: CallScope) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const s = new CallScope(d, call, path);
    Promise.resolve()
      .then(() => {
        s.start(op);
        wellFormed(call.request, path);
      })
      .then(() => run(call.request, s))
      .then(
        (res) => {
          s.sendHeaders();
          callback(null, res);
          s.end();
        },
        (err: unknown) => {
          const e = s.fail(err);
          callback(s.statusOf(e));
          s.end(e);
        },
      );
  };
}

/** A server-streaming handler around `run`, which writes through `s.write`; ends OK or with a status. */
export function serverStream<Req, Res>(
  d: CallDeps,
  path: string,
  op: Operation | undefined,
  run: (call: ServerWritableStream<Req, Res>, s: CallScope) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const s = new CallScope(d, call, path);
    Promise.resolve()
      .then(() => {
        s.start(op);
        wellFormed(call.request, path);
      })
      .then(() => run(call, s))
      .then(
        () => {
          s.sendHeaders();
          call.end();
          s.end();
        },
        (err: unknown) => {
          const e = s.fail(err);
          call.emit("error", s.statusOf(e));
          s.end(e);
        },
      );
  };
}
