import type { FastifyRequest } from "fastify";
import type { Config } from "../config/schema.js";
import { GatewayError } from "../core/errors.js";
import type { Operation } from "../core/types.js";

/** An operation's default deadline from `deadlines:` (`infer` is a KServe tensor call). */
export function defaultDeadlineMs(op: Operation, cfg: Config["deadlines"]): number {
  switch (op) {
    case "chat":
      return cfg.chatMs;
    case "completion":
      return cfg.completionMs;
    case "embedding":
      return cfg.embeddingMs;
    case "infer":
      return cfg.inferMs;
  }
}

/**
 * A request's deadline: `defaultMs`, or the deadline header's value capped by `deadlines.maxMs`.
 * Every front door (HTTP routes, gRPC metadata, pipelines) reads the header through this one rule.
 */
export function requestDeadline(
  defaultMs: number,
  header: string | string[] | undefined,
  cfg: Config["deadlines"],
): number {
  if (header === undefined) return defaultMs;
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !/^\d{1,10}$/.test(value) || Number(value) <= 0) {
    throw new GatewayError(
      "invalid_header",
      `${cfg.header} must be a positive whole number of milliseconds`,
      {
        param: cfg.header,
      },
    );
  }
  return Math.min(Number(value), cfg.maxMs);
}

/** The request's deadline for a model operation: its default, or the header's value capped by `deadlines.maxMs`. */
export function deadlineFor(
  op: Operation,
  header: string | string[] | undefined,
  cfg: Config["deadlines"],
): number {
  return requestDeadline(defaultDeadlineMs(op, cfg), header, cfg);
}

/** A header value an upstream can carry over HTTP/1.1 and as gRPC metadata: printable ASCII. */
const FORWARDABLE = /^[\x20-\x7e]*$/;

/**
 * The headers `server.forwardHeaders` lets through to the upstream (none: undefined), read with
 * `get` from an HTTP request or gRPC metadata. A value outside printable ASCII is refused with
 * `invalid_header`: gRPC metadata cannot carry it, and no upstream should get it altered.
 */
export function forwardHeaders(
  names: readonly string[],
  get: (name: string) => string | undefined,
): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name of names) {
    const v = get(name);
    if (v === undefined) continue;
    if (!FORWARDABLE.test(v)) {
      throw new GatewayError("invalid_header", `${name} must be printable ASCII to be forwarded upstream`, {
        param: name,
      });
    }
    out ??= {};
    out[name] = v;
  }
  return out;
}

/** `get` for `forwardHeaders` over an HTTP request (a repeated header is not forwarded). */
export const fromRequest =
  (request: FastifyRequest) =>
  (name: string): string | undefined => {
    const v = request.headers[name];
    return typeof v === "string" ? v : undefined;
  };
