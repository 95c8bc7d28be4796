/**
 * A gRPC call as a RequestContext: trace and request ids from metadata, the call's deadline (capped
 * like HTTP's, and never later than the client's own), and a client cancel that aborts the
 * upstream call at once.
 */
import type { Metadata, ServerUnaryCall } from "@grpc/grpc-js";
import type { AuthHeaders } from "../auth/authenticate.js";
import type { Config } from "../config/schema.js";
import { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import { forwardHeaders, requestDeadline } from "../http/request-options.js";

const DEADLINE_SLACK_MS = 100;

/** What every kind of server call has (grpc-js does not export its own name for it). */
export type ServerSurfaceCall = Omit<ServerUnaryCall<unknown, unknown>, "request">;

/** The first value of a text metadata key. */
export function metaValue(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === "string" ? v : undefined;
}

/** `authorization` and `x-api-key` from metadata, as the gate reads them from HTTP headers. */
export function authHeaders(md: Metadata): AuthHeaders {
  return { authorization: metaValue(md, "authorization"), "x-api-key": metaValue(md, "x-api-key") };
}

/** The metadata keys `server.forwardHeaders` lets through to the upstream (the HTTP rules). */
export function forwardedMetadata(
  md: Metadata,
  names: readonly string[],
): Record<string, string> | undefined {
  return forwardHeaders(names, (name) => metaValue(md, name));
}

/** Milliseconds until the client's deadline (Infinity when the client set none). */
export function clientRemainingMs(call: ServerSurfaceCall): number {
  const d = call.getDeadline();
  const at = d instanceof Date ? d.getTime() : d;
  return at - Date.now();
}

/**
 * Builds the context of a call; a client cancel (or a passed client deadline) aborts it. grpc-js
 * also emits `cancelled` after a call has completed normally: call the returned `detach` when the
 * call ends, so a finished call's context is not aborted after the fact.
 */
export function contextFor(call: ServerSurfaceCall): { ctx: RequestContext; detach: () => void } {
  const md = call.metadata;
  const ctx = new RequestContext({
    traceparent: metaValue(md, "traceparent"),
    tracestate: metaValue(md, "tracestate"),
    requestId: metaValue(md, "x-request-id"),
  });
  // grpc-js reports both a client cancel and a passed client deadline as `cancelled`. A client
  // whose deadline passes cancels its side at about the same moment, so a cancel that arrives within
  // DEADLINE_SLACK_MS of the deadline counts as the deadline.
  const onCancel = () => {
    const expired = clientRemainingMs(call) <= DEADLINE_SLACK_MS;
    ctx.abort(
      expired
        ? new GatewayError("deadline_exceeded", "the client's gRPC deadline passed")
        : new GatewayError("client_closed_request", "the client cancelled the call"),
    );
  };
  call.once("cancelled", onCancel);
  return { ctx, detach: () => call.off("cancelled", onCancel) };
}

/**
 * Arms the deadline: `defaultMs` (an operation's or a pipeline's default), or the `deadlines.header`
 * metadata capped by `deadlines.maxMs` — the same rule as the HTTP header — and never later than the
 * client's gRPC deadline. Without a default, only the client's deadline applies. Throws
 * `invalid_header` for a bad value.
 */
export function applyDeadline(
  ctx: RequestContext,
  call: ServerSurfaceCall,
  defaultMs: number | undefined,
  deadlines: Config["deadlines"],
): void {
  const client = clientRemainingMs(call);
  if (defaultMs !== undefined) {
    const own = requestDeadline(defaultMs, metaValue(call.metadata, deadlines.header), deadlines);
    ctx.setDeadline(Math.max(1, Math.min(own, client)));
  } else if (Number.isFinite(client)) {
    ctx.setDeadline(Math.max(1, client));
  }
}
