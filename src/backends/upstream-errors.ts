import { GatewayError } from "../core/errors.js";

/** Pulls a readable message out of an upstream error body (OpenAI shape or plain text). */
export function upstreamMessage(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") {
      const err = (parsed as { error?: unknown }).error;
      if (typeof err === "string") return err;
      if (err && typeof err === "object" && typeof (err as { message?: unknown }).message === "string") {
        return (err as { message: string }).message;
      }
      const detail =
        (parsed as { detail?: unknown; message?: unknown }).detail ??
        (parsed as { message?: unknown }).message;
      if (typeof detail === "string") return detail;
    }
  } catch {
    // not JSON: fall through to the text itself
  }
  const trimmed = text.trim();
  return trimmed.length > 0 ? trimmed.slice(0, 500) : "no message";
}

/** Parses a `retry-after` header (seconds or HTTP date) into whole seconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * Maps an upstream HTTP error status to the gateway's error: 4xx pass through with their status and
 * the upstream's message, 429 keeps its retry-after, 503 and connection trouble are `upstream_unavailable`,
 * 504 is `upstream_timeout`, other 5xx `upstream_error`.
 */
export function upstreamStatusError(
  status: number,
  bodyText: string,
  endpoint: string,
  retryAfter?: number,
): GatewayError {
  const msg = upstreamMessage(bodyText);
  if (status === 429) {
    return new GatewayError("upstream_rate_limited", `upstream ${endpoint} is rate limiting: ${msg}`, {
      retryAfterSeconds: retryAfter,
    });
  }
  if (status >= 400 && status < 500) {
    return new GatewayError("upstream_rejected", msg, { status });
  }
  if (status === 503) {
    return new GatewayError("upstream_unavailable", `upstream ${endpoint} unavailable (503): ${msg}`, {
      retryAfterSeconds: retryAfter,
    });
  }
  if (status === 504)
    return new GatewayError("upstream_timeout", `upstream ${endpoint} timed out (504): ${msg}`);
  return new GatewayError("upstream_error", `upstream ${endpoint} failed with ${status}: ${msg}`);
}
