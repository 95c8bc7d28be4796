/**
 * Incremental decoder of HTTP/1.1 `Transfer-Encoding: chunked` bodies. The stream probe reads raw
 * socket data so that it sees exactly what each read() delivered; this strips the chunk framing.
 */
export class ChunkedDecoder {
  private state: "size" | "data" | "crlf" | "trailer" | "done" = "size";
  private line = "";
  private remaining = 0;

  get done(): boolean {
    return this.state === "done";
  }

  /** Feeds one read; returns the body bytes it carried. */
  push(buf: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < buf.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.remaining, buf.length - i);
        out.push(buf.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = "crlf";
        continue;
      }
      i = this.readLine(buf, i);
    }
    return out;
  }

  /** Consumes framing bytes up to the end of a line (size, CRLF after data, or trailer). */
  private readLine(buf: Buffer, start: number): number {
    const nl = buf.indexOf(10, start);
    if (nl === -1) {
      this.line += buf.toString("latin1", start);
      return buf.length;
    }
    const line = (this.line + buf.toString("latin1", start, nl)).replace(/\r$/, "");
    this.line = "";
    if (this.state === "size") {
      const size = Number.parseInt(line.split(";")[0] ?? "", 16);
      if (Number.isNaN(size)) throw new Error(`bad chunk size line '${line}'`);
      this.remaining = size;
      this.state = size === 0 ? "trailer" : "data";
    } else if (this.state === "crlf") {
      this.state = "size";
    } else if (this.state === "trailer" && line === "") {
      this.state = "done";
    }
    return nl + 1;
  }
}
