/**
 * The one function that turns an error into a gRPC status: the registry's gRPC code, the message,
 * and trailing metadata with the error code, the trace id and, where waiting helps, retry advice
 * (`retry-after-ms` and a `google.rpc.RetryInfo` in `grpc-status-details-bin`).
 */
import { Metadata, type ServerErrorResponse, status as Status } from "@grpc/grpc-js";
import type { GatewayError } from "../core/errors.js";

export const ERROR_CODE_KEY = "x-switchyard-error-code";
export const TRACE_ID_KEY = "trace-id";
export const RETRY_AFTER_KEY = "retry-after-ms";
const DETAILS_KEY = "grpc-status-details-bin";

/** Statuses on which `retry-after-ms` and RetryInfo are sent when the error says how long to wait. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([Status.RESOURCE_EXHAUSTED, Status.UNAVAILABLE]);

export interface StatusIds {
  traceId?: string;
  requestId?: string;
}

/** A GatewayError as the error a grpc-js handler returns (unary callback or stream `error`). */
export function toServiceError(err: GatewayError, ids: StatusIds = {}): ServerErrorResponse {
  const code = err.spec.grpc;
  const md = new Metadata();
  md.set(ERROR_CODE_KEY, err.code);
  if (ids.traceId) md.set(TRACE_ID_KEY, ids.traceId);
  if (ids.requestId) md.set("x-request-id", ids.requestId);
  for (const [k, v] of Object.entries(err.headers ?? {})) md.set(k.toLowerCase(), v);
  const retryMs = err.retryAfterSeconds === undefined ? undefined : Math.round(err.retryAfterSeconds * 1000);
  if (retryMs !== undefined && RETRY_STATUSES.has(code)) md.set(RETRY_AFTER_KEY, String(retryMs));
  md.set(
    DETAILS_KEY,
    statusDetails(code, err.message, err.code, RETRY_STATUSES.has(code) ? retryMs : undefined),
  );
  return Object.assign(new Error(err.message), { code, details: err.message, metadata: md });
}

// google.rpc.Status, with google.rpc.ErrorInfo and google.rpc.RetryInfo details, written by hand:
// three small messages do not need a protobuf runtime.

function varint(n: number): number[] {
  const out: number[] = [];
  let v = Math.max(0, Math.floor(n));
  while (v > 0x7f) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function field(num: number, bytes: Uint8Array | number[]): number[] {
  return [(num << 3) | 2, ...varint(bytes.length), ...bytes];
}

function text(num: number, s: string): number[] {
  return field(num, Buffer.from(s, "utf8"));
}

function any(typeName: string, value: number[]): number[] {
  return [...text(1, `type.googleapis.com/${typeName}`), ...field(2, value)];
}

/** google.rpc.Status {code, message, details: [ErrorInfo, RetryInfo?]}. */
export function statusDetails(code: number, message: string, reason: string, retryMs?: number): Buffer {
  const errorInfo = [...text(1, reason.toUpperCase()), ...text(2, "switchyard.dev")];
  const details = [...field(3, any("google.rpc.ErrorInfo", errorInfo))];
  if (retryMs !== undefined) {
    const seconds = Math.floor(retryMs / 1000);
    const nanos = (retryMs % 1000) * 1_000_000;
    const duration = [
      ...(seconds ? [0x08, ...varint(seconds)] : []),
      ...(nanos ? [0x10, ...varint(nanos)] : []),
    ];
    details.push(...field(3, any("google.rpc.RetryInfo", field(1, duration))));
  }
  return Buffer.from([...(code ? [0x08, ...varint(code)] : []), ...text(2, message), ...details]);
}
