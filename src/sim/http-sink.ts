import type { ServerResponse } from "node:http";
import type { Usage } from "../core/types.js";
import type { Attempt } from "./records.js";
import type { SimSink } from "./run.js";

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

/** How an HTTP answer ended, for metrics: the status, `reset` or `client_closed`. */
export type HttpOutcome = (outcome: string) => void;

/** Writes an engine's answer to an HTTP response; faults become real socket behaviour. */
export class HttpSink implements SimSink {
  private resetDone = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly attempt: Attempt | undefined,
    private readonly outcome: HttpOutcome,
  ) {}

  /** True once the sim broke the connection on purpose (so a close is not the client's doing). */
  get wasReset(): boolean {
    return this.resetDone;
  }

  start(): void {
    this.res.writeHead(200, SSE_HEADERS);
    this.res.flushHeaders();
    this.attempt?.firstByte(200);
  }

  event(data: string): void {
    this.res.write(`data: ${data}\n\n`);
  }

  end(): void {
    this.res.end("data: [DONE]\n\n");
    this.completed(200);
  }

  json(status: number, body: string, _usage: Usage | undefined, retryAfterSeconds?: number): void {
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    };
    if (retryAfterSeconds !== undefined) headers["retry-after"] = retryAfterSeconds;
    this.res.writeHead(status, headers);
    this.attempt?.firstByte(status);
    this.res.end(body);
    this.completed(status);
  }

  reset(partialBody?: string): void {
    this.resetDone = true;
    const socket = this.res.socket;
    if (partialBody !== undefined) {
      // Promise a longer body than is sent, then close: the client sees the body break off.
      const promised = Buffer.byteLength(partialBody) * 2 + 16;
      this.res.writeHead(200, { "content-type": "application/json", "content-length": promised });
      this.attempt?.firstByte(200);
      this.res.write(partialBody);
      socket?.destroySoon();
    } else if (this.res.headersSent) {
      socket?.destroySoon();
    } else {
      socket?.resetAndDestroy();
    }
    this.attempt?.end("reset");
    this.outcome("reset");
  }

  private completed(status: number): void {
    this.res.once("finish", () => this.attempt?.end("completed"));
    this.outcome(String(status));
  }
}
