import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

export interface OtlpStats {
  requests: number;
  bytes: number;
  /** Occurrences of the server span's name in the (protobuf) bodies: one per exported request span. */
  serverSpans: number;
}

export interface OtlpReceiver {
  port: number;
  stats(): OtlpStats;
  close(): Promise<void>;
}

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * A stand-in OTLP/HTTP collector in the bench process: `POST /v1/traces` answers 200 with an empty
 * protobuf body (a valid ExportTraceServiceResponse) and counts requests, bytes and request spans.
 */
export async function startOtlpReceiver(serverSpanName: string): Promise<OtlpReceiver> {
  const stats: OtlpStats = { requests: 0, bytes: 0, serverSpans: 0 };
  const needle = Buffer.from(serverSpanName);
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      let body = Buffer.concat(parts);
      if (req.method === "POST" && req.url === "/v1/traces") {
        stats.requests++;
        stats.bytes += body.length;
        if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
        stats.serverSpans += count(body, needle);
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } else {
        res.writeHead(404).end();
      }
    });
  };
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stats: () => ({ ...stats }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
