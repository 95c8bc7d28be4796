import type { FastifyReply } from "fastify";
import { errorBody, GatewayError, toGatewayError } from "../core/errors.js";

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
}

/** Longest path segment (a model name, a job id) the router takes; beyond it `414 uri_too_long`. */
export const MAX_PATH_SEGMENT_CHARS = 512;

/** Maps Fastify's own errors (body parsing, limits) to the registry; anything else keeps its meaning. */
export function fromFastifyError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = (err ?? {}) as FastifyLikeError;
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new GatewayError("payload_too_large", "The request body is larger than the gateway accepts.");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new GatewayError("unsupported_media_type", "Content-Type must be application/json.");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new GatewayError("invalid_json", "The request body is empty.");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new GatewayError("invalid_request", "Content-Length does not match the body.");
    case "FST_ERR_BAD_URL":
      return new GatewayError(
        "invalid_request",
        "The request path is not a valid URL (bad percent-encoding).",
      );
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new GatewayError(
        "uri_too_long",
        `A path segment is longer than ${MAX_PATH_SEGMENT_CHARS} characters.`,
      );
    case "FST_CP_ERR_INVALID_CONTENT":
      return new GatewayError("invalid_request", e.message ?? "The request body could not be decoded.");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new GatewayError("invalid_json", "The request body is not valid JSON.");
  }
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new GatewayError("payload_too_large", "The request body is too large.");
    if (e.statusCode === 415)
      return new GatewayError("unsupported_media_type", "Content-Type must be application/json.");
    return new GatewayError("invalid_request", e.message ?? "bad request");
  }
  return toGatewayError(err);
}

/** Sends an error in the one HTTP error shape, with `retry-after` where the error carries one. */
export function sendError(reply: FastifyReply, err: GatewayError, traceId: string | undefined): FastifyReply {
  if (err.headers) reply.headers(err.headers);
  if (err.retryAfterSeconds !== undefined) reply.header("retry-after", String(err.retryAfterSeconds));
  reply.header("x-switchyard-error-code", err.code);
  return reply
    .code(err.status)
    .type("application/json; charset=utf-8")
    .send(JSON.stringify(errorBody(err, traceId)));
}
