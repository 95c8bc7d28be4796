import { connect, type Socket } from "node:net";
import { ChunkedDecoder } from "./chunked.js";
import { SseCounter } from "./sse.js";
import { nowUs } from "./stats.js";

/**
 * A keep-alive HTTP/1.1 client on a bare socket, for the streaming probe only: every `data` event of
 * the socket is one read() of the kernel buffer, so "events per read" is what the client really got
 * (node:http and undici split one read into one callback per chunk and would hide batching).
 */

export interface ReadRecord {
  atUs: number;
  contentEvents: number;
}

export interface StreamTrace {
  status: number;
  sentAtUs: number;
  reads: ReadRecord[];
  sawDone: boolean;
  errorEvent?: string;
}

type BodyMode =
  | { kind: "chunked"; decoder: ChunkedDecoder }
  | { kind: "length"; left: number }
  | { kind: "close" };

class ResponseReader {
  status = 0;
  keepAlive = true;
  complete = false;
  readonly sse = new SseCounter();
  readonly reads: ReadRecord[] = [];
  private head: Buffer = Buffer.alloc(0);
  private mode: BodyMode | undefined;

  onData(buf: Buffer, atUs: number): void {
    let body = buf;
    if (this.mode === undefined) {
      this.head = Buffer.concat([this.head, buf]);
      const end = this.head.indexOf("\r\n\r\n");
      if (end === -1) return;
      this.parseHead(this.head.toString("latin1", 0, end));
      body = this.head.subarray(end + 4);
    }
    const events = this.sse.push(this.decode(body));
    if (events > 0 || body.length > 0) this.reads.push({ atUs, contentEvents: events });
  }

  onClose(): void {
    if (this.mode?.kind === "close") this.complete = true;
  }

  private parseHead(head: string): void {
    const [statusLine = "", ...lines] = head.split("\r\n");
    this.status = Number(statusLine.split(" ")[1] ?? 0);
    const headers = new Map<string, string>();
    for (const l of lines) {
      const colon = l.indexOf(":");
      if (colon > 0)
        headers.set(
          l.slice(0, colon).trim().toLowerCase(),
          l
            .slice(colon + 1)
            .trim()
            .toLowerCase(),
        );
    }
    this.keepAlive = headers.get("connection") !== "close";
    if (headers.get("transfer-encoding")?.includes("chunked")) {
      this.mode = { kind: "chunked", decoder: new ChunkedDecoder() };
    } else if (headers.has("content-length")) {
      this.mode = { kind: "length", left: Number(headers.get("content-length")) };
    } else {
      this.mode = { kind: "close" };
      this.keepAlive = false;
    }
  }

  private decode(body: Buffer): string {
    const mode = this.mode;
    if (mode === undefined) return "";
    if (mode.kind === "chunked") {
      const text = mode.decoder
        .push(body)
        .map((b) => b.toString("utf8"))
        .join("");
      this.complete = mode.decoder.done;
      return text;
    }
    if (mode.kind === "length") {
      mode.left -= body.length;
      this.complete = mode.left <= 0;
    }
    return body.toString("utf8");
  }
}

export class RawHttpConnection {
  private socket: Socket | undefined;

  constructor(private readonly port: number) {}

  private async open(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = connect({ host: "127.0.0.1", port: this.port, noDelay: true });
    socket.on("error", () => {}); // an idle keep-alive socket may be reset; the next exchange reconnects
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    this.socket = socket;
    return socket;
  }

  /** Sends one request and follows the response to its end, timing every read. */
  async exchange(request: Buffer, timeoutMs: number): Promise<StreamTrace> {
    const socket = await this.open();
    const reader = new ResponseReader();
    const sentAtUs = nowUs();
    await new Promise<void>((resolve, reject) => {
      const finish = (err?: Error) => {
        clearTimeout(timer);
        socket.off("data", onData).off("close", onClose).off("error", finish);
        if (err) reject(err);
        else resolve();
      };
      const onData = (buf: Buffer) => {
        reader.onData(buf, nowUs());
        if (reader.complete) finish();
      };
      const onClose = () => {
        reader.onClose();
        finish(reader.complete ? undefined : new Error("connection closed mid-response"));
      };
      const timer = setTimeout(() => finish(new Error(`no complete response in ${timeoutMs} ms`)), timeoutMs);
      socket.on("data", onData).once("close", onClose).once("error", finish);
      socket.write(request);
    }).catch((err: unknown) => {
      this.close();
      throw err;
    });
    if (!reader.keepAlive) this.close();
    const trace: StreamTrace = {
      status: reader.status,
      sentAtUs,
      reads: reader.reads,
      sawDone: reader.sse.sawDone,
    };
    if (reader.sse.errorEvent !== undefined) trace.errorEvent = reader.sse.errorEvent;
    return trace;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

/** Serialises a POST with a JSON body into raw HTTP/1.1 bytes. */
export function buildPost(port: number, path: string, body: string, headers: Record<string, string>): Buffer {
  const bytes = Buffer.from(body, "utf8");
  const lines = [
    `POST ${path} HTTP/1.1`,
    `host: 127.0.0.1:${port}`,
    "content-type: application/json",
    "accept: text/event-stream",
    `content-length: ${bytes.length}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), bytes]);
}
