import type { ErrorClass } from "../config/schema.js";
import type { GatewayError } from "../core/errors.js";

const CONTEXT_LENGTH =
  /context length|context window|maximum context|too many tokens|max_model_len|prompt is too long/i;

/** The class of an upstream failure, as retry and fallback policies name them; undefined = never retried. */
export function errorClass(err: GatewayError): ErrorClass | undefined {
  switch (err.code) {
    case "upstream_unavailable":
    case "stream_interrupted":
    case "circuit_open":
    case "no_endpoint_available":
    case "overloaded":
      return "unavailable";
    case "upstream_timeout":
      return "timeout";
    case "upstream_error":
      return "server_error";
    case "upstream_rate_limited":
      return "rate_limited";
    case "upstream_bad_response":
      return "bad_response";
    case "upstream_rejected":
      return CONTEXT_LENGTH.test(err.message) ? "context_length" : undefined;
    default:
      return undefined;
  }
}

/** Whether a failure says something about the endpoint's health (5xx, connection trouble, garbage). */
export function isEndpointFailure(err: GatewayError): boolean {
  switch (err.code) {
    case "upstream_unavailable":
    case "upstream_timeout":
    case "upstream_error":
    case "upstream_bad_response":
    case "stream_interrupted":
      return true;
    default:
      return false;
  }
}
