/**
 * The reference proxy: the floor any Node gateway stands on. node:http in, one undici Pool
 * (keep-alive) out; the client's JSON is parsed and re-serialised, so is the upstream's; a
 * `stream: true` response is piped through byte for byte. No other feature.
 *
 *   node --import tsx bench/reference-proxy.ts --port 0 --upstream http://127.0.0.1:N/v1
 *
 * Prints {"msg":"reference proxy listening","port":N} when ready; SIGTERM stops it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { Pool } from "undici";

const { values } = parseArgs({
  options: { port: { type: "string", default: "0" }, upstream: { type: "string" } },
});
if (!values.upstream) throw new Error("--upstream URL is required");
const upstream = new URL(values.upstream);
const basePath = upstream.pathname.replace(/\/$/, "");
const pool = new Pool(upstream.origin, { connections: 128, keepAliveTimeout: 60_000 });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message, type: "proxy_error", code: null, param: null } });
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const parsed = JSON.parse((await readBody(req)).toString("utf8")) as { stream?: unknown };
  const headers: Record<string, string> = { "content-type": "application/json" };
  const fault = req.headers["x-sim-fault"];
  if (typeof fault === "string") headers["x-sim-fault"] = fault;
  const path = basePath + (req.url ?? "/").replace(/^\/v1/, "");
  const up = await pool.request({ path, method: "POST", headers, body: JSON.stringify(parsed) });
  const contentType = String(up.headers["content-type"] ?? "application/json");
  if (parsed.stream === true && up.statusCode === 200) {
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache" });
    await pipeline(up.body, res);
    return;
  }
  const out = JSON.stringify(JSON.parse(await up.body.text()));
  res.writeHead(up.statusCode, { "content-type": contentType, "content-length": Buffer.byteLength(out) });
  res.end(out);
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.method !== "POST" || !req.url?.startsWith("/v1/")) return fail(res, 404, "not found");
  forward(req, res).catch((err: unknown) => fail(res, 502, err instanceof Error ? err.message : String(err)));
});

server.listen(Number(values.port), "127.0.0.1", () => {
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ msg: "reference proxy listening", port })}\n`);
});

process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void pool.close().finally(() => process.exit(0));
});
