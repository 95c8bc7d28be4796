import { StringDecoder } from "node:string_decoder";

/**
 * Splits a byte stream of Server-Sent Events into the data of each event. Handles `\n`, `\r\n` and
 * `\r` line ends, multi-line data and comments. Yields raw data strings (the `[DONE]` marker included).
 */
export class SseParser {
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  private data: string[] = [];

  /** Feeds a chunk and returns the data of every event it completed. */
  push(chunk: Buffer | string): string[] {
    this.buffer += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = this.nextLineEnd(start);
      if (nl < 0) break;
      const line = this.buffer.slice(start, nl);
      start = nl + (this.buffer[nl] === "\r" && this.buffer[nl + 1] === "\n" ? 2 : 1);
      this.line(line, out);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** True when bytes of an unfinished event are buffered. */
  get pending(): boolean {
    return this.buffer.length > 0 || this.data.length > 0;
  }

  private nextLineEnd(from: number): number {
    const n = this.buffer.indexOf("\n", from);
    const r = this.buffer.indexOf("\r", from);
    if (r >= 0 && (n < 0 || r < n)) {
      // A lone '\r' at the very end may be the first half of '\r\n': wait for more.
      return r === this.buffer.length - 1 ? -1 : r;
    }
    return n;
  }

  private line(line: string, out: string[]): void {
    if (line === "") {
      if (this.data.length > 0) out.push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith("data:")) {
      this.data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
    }
    // Comments (':'), `event:`, `id:` and `retry:` lines carry nothing the gateway forwards.
  }
}
