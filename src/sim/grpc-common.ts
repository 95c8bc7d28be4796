import { Metadata, type ServerErrorResponse, type ServerUnaryCall, status } from "@grpc/grpc-js";

/** What unary and streaming server calls have in common. */
type ServerSurfaceCall = Omit<ServerUnaryCall<unknown, unknown>, "request">;

import type { Attempt, RequestRecords, SimStats } from "./records.js";

/** What the sim's gRPC services share with its HTTP server: request records and totals. */
export interface SimGrpcTracking {
  records: RequestRecords;
  stats: SimStats;
}

/** An HTTP status of the sim's vocabulary (faults, validation) as a gRPC status code. */
export function grpcCodeFor(httpStatus: number): status {
  switch (httpStatus) {
    case 400:
    case 413:
      return status.INVALID_ARGUMENT;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.NOT_FOUND;
    case 409:
      return status.ABORTED;
    case 429:
      return status.RESOURCE_EXHAUSTED;
    case 499:
      return status.CANCELLED;
    case 501:
      return status.UNIMPLEMENTED;
    case 503:
      return status.UNAVAILABLE;
    case 504:
      return status.DEADLINE_EXCEEDED;
    default:
      return httpStatus < 500 ? status.FAILED_PRECONDITION : status.INTERNAL;
  }
}

/** A gRPC error for an HTTP status; 429 and 503 carry `retry-after-ms` trailing metadata. */
export function grpcError(
  httpStatus: number,
  message: string,
  retryAfterSeconds?: number,
): ServerErrorResponse {
  const md = new Metadata();
  if (retryAfterSeconds !== undefined) md.set("retry-after-ms", String(retryAfterSeconds * 1000));
  return Object.assign(new Error(message), { code: grpcCodeFor(httpStatus), details: message, metadata: md });
}

/** A connection reset as a gRPC client sees it. */
export function resetError(): ServerErrorResponse {
  const message = "connection reset (simulated)";
  return Object.assign(new Error(message), { code: status.UNAVAILABLE, details: message });
}

function meta(call: ServerSurfaceCall, key: string): string | undefined {
  const v = call.metadata.get(key)[0];
  return v === undefined ? undefined : String(v);
}

export interface TrackedCall {
  attempt: Attempt | undefined;
  /** The `x-sim-fault` metadata, if any. */
  fault: string | undefined;
  /** Aborted when the client cancels the call or its deadline passes. */
  signal: AbortSignal;
  /** Ends the call's records with its outcome (an HTTP-style status, `reset` or `client_closed`); once. */
  end(outcome: string): void;
}

/** Counts a model call in `/sim/stats` and `/sim/requests/:id`, and follows its cancellation. */
export function track(t: SimGrpcTracking, call: ServerSurfaceCall): TrackedCall {
  const requestId = meta(call, "x-request-id");
  const attempt = requestId
    ? t.records.arrive(requestId, meta(call, "traceparent"), meta(call, "tracestate"))
    : undefined;
  const ended = t.stats.arrive();
  const controller = new AbortController();
  let done = false;
  const end = (outcome: string) => {
    if (done) return;
    done = true;
    if (outcome === "client_closed") attempt?.end("client_closed");
    else if (outcome === "reset") attempt?.end("reset");
    else {
      attempt?.firstByte(Number(outcome) || 200);
      attempt?.end("completed");
    }
    ended(outcome);
  };
  call.on("cancelled", () => {
    controller.abort(new Error("the client cancelled the call"));
    end("client_closed");
  });
  return { attempt, fault: meta(call, "x-sim-fault"), signal: controller.signal, end };
}
