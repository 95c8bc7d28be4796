/**
 * The one registry of error codes. Every error Switchyard returns carries one of these codes.
 * Codes are stable: never rename or reuse one. `docs/errors.md` lists exactly these codes
 * (a test keeps the two in step).
 */

/** Who is at fault: drives logging level, metrics and whether a retry elsewhere can help. */
export type FaultDomain = "caller" | "policy" | "upstream" | "gateway";

/** The OpenAI-style `type` field the official SDKs read. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "timeout_error"
  | "server_error"
  | "upstream_error";

export interface ErrorCodeSpec {
  readonly http: number;
  /** gRPC status code number (see @grpc/grpc-js `status`). */
  readonly grpc: number;
  readonly type: ErrorType;
  readonly retryable: boolean;
  readonly domain: FaultDomain;
  readonly description: string;
}

// gRPC status numbers, kept here so the registry has no runtime dependency on a gRPC library.
const G = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export const ERROR_CODES = {
  invalid_request: {
    http: 400,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "The request body or a parameter is invalid; `param` names the offending field.",
  },
  invalid_json: {
    http: 400,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "The request body is not valid JSON.",
  },
  invalid_header: {
    http: 400,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "A request header has an invalid value (for example a non-numeric timeout).",
  },
  unsupported_media_type: {
    http: 415,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description:
      "The request's content type is not `application/json`, or its `Content-Encoding` is not one the gateway decodes (gzip, deflate, br, identity).",
  },
  payload_too_large: {
    http: 413,
    grpc: G.RESOURCE_EXHAUSTED,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "The request body is larger than `server.bodyLimitBytes`.",
  },
  headers_too_large: {
    http: 431,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "The request headers are larger than `server.maxHeaderBytes`.",
  },
  uri_too_long: {
    http: 414,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "A segment of the request path (a model name, a job id) is longer than 512 characters.",
  },
  not_found: {
    http: 404,
    grpc: G.UNIMPLEMENTED,
    type: "not_found_error",
    retryable: false,
    domain: "caller",
    description: "No route matches the method and path.",
  },
  method_not_allowed: {
    http: 405,
    grpc: G.UNIMPLEMENTED,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "The path exists but not with this HTTP method.",
  },
  model_not_found: {
    http: 404,
    grpc: G.NOT_FOUND,
    type: "not_found_error",
    retryable: false,
    domain: "caller",
    description: "The requested model is not configured.",
  },
  model_wrong_type: {
    http: 400,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description:
      "The model exists but does not serve this operation (for example chat on an embedding model).",
  },
  invalid_api_key: {
    http: 401,
    grpc: G.UNAUTHENTICATED,
    type: "authentication_error",
    retryable: false,
    domain: "caller",
    description: "Credentials are missing, malformed, unknown, expired or revoked.",
  },
  model_not_allowed: {
    http: 403,
    grpc: G.PERMISSION_DENIED,
    type: "permission_error",
    retryable: false,
    domain: "policy",
    description: "The caller's key or token may not use this model.",
  },
  auth_unavailable: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description:
      "Credentials could not be checked: the key store or the JWT key set (JWKS URL) could not be read.",
  },
  rate_limited: {
    http: 429,
    grpc: G.RESOURCE_EXHAUSTED,
    type: "rate_limit_error",
    retryable: true,
    domain: "policy",
    description: "A request, token or concurrency limit was reached; `retry-after` says when to retry.",
  },
  deadline_exceeded: {
    http: 504,
    grpc: G.DEADLINE_EXCEEDED,
    type: "timeout_error",
    retryable: true,
    domain: "gateway",
    description: "The request's deadline passed before the upstream answered; the upstream call was aborted.",
  },
  client_closed_request: {
    http: 499,
    grpc: G.CANCELLED,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "The client went away before the answer was complete; the upstream call was aborted.",
  },
  upstream_error: {
    http: 502,
    grpc: G.UNAVAILABLE,
    type: "upstream_error",
    retryable: true,
    domain: "upstream",
    description: "The upstream answered with a server error (5xx other than 503/504).",
  },
  upstream_unavailable: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "upstream_error",
    retryable: true,
    domain: "upstream",
    description: "The upstream could not be reached (connection refused or reset) or answered 503.",
  },
  upstream_timeout: {
    http: 504,
    grpc: G.DEADLINE_EXCEEDED,
    type: "timeout_error",
    retryable: true,
    domain: "upstream",
    description:
      "The upstream did not connect, send headers or send body data within its configured timeout.",
  },
  upstream_bad_response: {
    http: 502,
    grpc: G.INTERNAL,
    type: "upstream_error",
    retryable: true,
    domain: "upstream",
    description: "The upstream's answer could not be understood (invalid JSON or SSE).",
  },
  upstream_rejected: {
    http: 400,
    grpc: G.FAILED_PRECONDITION,
    type: "invalid_request_error",
    retryable: false,
    domain: "upstream",
    description:
      "The upstream refused the request with a 4xx; the status and the upstream's message are passed back.",
  },
  upstream_rate_limited: {
    http: 429,
    grpc: G.RESOURCE_EXHAUSTED,
    type: "rate_limit_error",
    retryable: true,
    domain: "upstream",
    description: "The upstream answered 429; its `retry-after` is passed back.",
  },
  stream_interrupted: {
    http: 502,
    grpc: G.UNAVAILABLE,
    type: "upstream_error",
    retryable: false,
    domain: "upstream",
    description:
      "A stream broke off after it had started (sent as the final SSE event, never as a clean end).",
  },
  no_endpoint_available: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description: "The model's pool has no endpoint that can take the request.",
  },
  rate_limit_store_unavailable: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description: "The rate-limit store (Redis) could not be reached and `limits.failureMode` is `closed`.",
  },
  circuit_open: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description:
      "Every endpoint of the model (and of its fallbacks) is unavailable: circuits open or ejected. Fails fast.",
  },
  overloaded: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description:
      "The model's admission queue is full or the wait for a slot timed out; `retry-after` says when to retry.",
  },
  shutting_down: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description: "The gateway is shutting down and takes no new requests.",
  },
  job_not_found: {
    http: 404,
    grpc: G.NOT_FOUND,
    type: "not_found_error",
    retryable: false,
    domain: "caller",
    description:
      "No job with this id exists for the caller (jobs are visible only to the principal that submitted them).",
  },
  job_state_conflict: {
    http: 409,
    grpc: G.FAILED_PRECONDITION,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description:
      "The job is not in a state that allows this action (for example retry of a job that has not failed).",
  },
  idempotency_key_reused: {
    http: 422,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description: "The `Idempotency-Key` was already used with a different request body; use a new key.",
  },
  idempotency_key_in_progress: {
    http: 409,
    grpc: G.FAILED_PRECONDITION,
    type: "invalid_request_error",
    retryable: true,
    domain: "caller",
    description:
      "A call with the same `Idempotency-Key` is still running and did not finish within this request's deadline.",
  },
  webhook_url_refused: {
    http: 400,
    grpc: G.INVALID_ARGUMENT,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description:
      "The webhook URL is not allowed: not http(s), not on `jobs.webhooks.allowedHosts`, or it resolves to a private address.",
  },
  queue_unavailable: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description:
      "The job queue's broker (NATS, Redis, …) or the store could not take the job; nothing was accepted. `retry-after` says when to retry.",
  },
  store_unavailable: {
    http: 503,
    grpc: G.UNAVAILABLE,
    type: "server_error",
    retryable: true,
    domain: "gateway",
    description:
      "The state store (PostgreSQL) could not be reached or did not answer within its timeouts. `retry-after` says when to retry.",
  },
  pipeline_not_found: {
    http: 404,
    grpc: G.NOT_FOUND,
    type: "not_found_error",
    retryable: false,
    domain: "caller",
    description: "No pipeline with this name is configured (`GET /v1/pipelines` lists them).",
  },
  pipeline_step_failed: {
    http: 502,
    grpc: G.ABORTED,
    type: "upstream_error",
    retryable: true,
    domain: "upstream",
    description:
      "A pipeline step with `onError: fail` failed; the message names the pipeline, the step and the step's own error code, `param` is `steps.NAME`.",
  },
  pipeline_template_error: {
    http: 422,
    grpc: G.FAILED_PRECONDITION,
    type: "invalid_request_error",
    retryable: false,
    domain: "caller",
    description:
      "A pipeline template or condition could not be evaluated for this run: a field it reads is missing (use `default(...)`) or has the wrong type.",
  },
  internal_error: {
    http: 500,
    grpc: G.INTERNAL,
    type: "server_error",
    retryable: false,
    domain: "gateway",
    description: "An unexpected failure inside the gateway (a bug: please report it with the trace id).",
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
