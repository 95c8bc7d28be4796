import { randomFillSync } from "node:crypto";

// Random ids come from one refilled pool instead of a crypto call per id: this runs on every request.
const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function randomString(bytes: number, encoding: "hex" | "base64url"): string {
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const s = pool.toString(encoding, offset, offset + bytes);
  offset += bytes;
  return s;
}

function randomHex(bytes: number): string {
  return randomString(bytes, "hex");
}

/** 12 random bytes, base64url: the lease id (fencing token) of one delivery of a queued message. */
export function newLeaseId(): string {
  return randomString(12, "base64url");
}

/** 16 random bytes as 32 hex digits (a W3C trace id); never all zeros. */
export function newTraceId(): string {
  const id = randomHex(16);
  return id === "00000000000000000000000000000000" ? newTraceId() : id;
}

/** 8 random bytes as 16 hex digits (a W3C span id); never all zeros. */
export function newSpanId(): string {
  const id = randomHex(8);
  return id === "0000000000000000" ? newSpanId() : id;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

export interface TraceParent {
  traceId: string;
  parentSpanId: string;
  flags: string;
}

/** Parses a W3C `traceparent` header; returns undefined for anything invalid (a new trace starts then). */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (!header || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (version === "ff") return undefined;
  if (version === "00" && header.trim().length !== 55) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, parentSpanId: spanId, flags };
}

export function formatTraceparent(traceId: string, spanId: string, flags: string): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Keeps a client's `x-request-id` when it is a sane token, else makes one. */
export function requestIdFrom(header: string | undefined, traceId: string): string {
  if (header && REQUEST_ID.test(header)) return header;
  return `req_${traceId.slice(0, 24)}`;
}
