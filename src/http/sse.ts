import { once } from "node:events";
import type { ServerResponse } from "node:http";
import type { RequestContext } from "../core/context.js";
import { errorBody, type GatewayError } from "../core/errors.js";

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/** Writes one SSE event; returns false when the socket's buffer is full (wait for `drained` then). */
export function writeEvent(res: ServerResponse, data: string): boolean {
  return res.write(`data: ${data}\n\n`);
}

/** Resolves when a slow client has read what was buffered (rejects when the request is aborted). */
export async function drained(res: ServerResponse, ctx: RequestContext): Promise<void> {
  await once(res, "drain", { signal: ctx.signal });
}

/** Ends a stream with the unified error as its final event, so a cut stream never looks like a clean end. */
export function endWithError(res: ServerResponse, err: GatewayError, ctx: RequestContext): void {
  ctx.errorCode = err.code;
  if (res.destroyed || res.writableEnded) return;
  res.end(`data: ${JSON.stringify(errorBody(err, ctx.traceId))}\n\n`);
}

export function endClean(res: ServerResponse): void {
  if (!res.destroyed && !res.writableEnded) res.end("data: [DONE]\n\n");
}
