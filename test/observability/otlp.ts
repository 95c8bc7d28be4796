/**
 * A minimal OTLP/HTTP trace receiver for tests: it decodes the protobuf `ExportTraceServiceRequest`
 * with a small wire-format reader (no protobuf library is installed; the exporter's own serializer
 * only writes), keeping the fields the tests look at.
 */
import { createServer, type Server } from "node:http";

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  events: Array<{ name: string; timeNs: bigint }>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  resource: Record<string, string | number | boolean>;
}

type Field = { no: number; wire: number; value: bigint | Buffer };

function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 1) {
      yield { no, wire, value: buf.readBigUInt64LE(pos) };
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      yield { no, wire, value: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 5) {
      yield { no, wire, value: BigInt(buf.readUInt32LE(pos)) };
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const str = (v: bigint | Buffer) => (v as Buffer).toString("utf8");
const hex = (v: bigint | Buffer) => (v as Buffer).toString("hex");

function anyValue(buf: Buffer): string | number | boolean {
  for (const f of fields(buf)) {
    if (f.no === 1) return str(f.value);
    if (f.no === 2) return f.value === 1n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.value as bigint));
    if (f.no === 4) {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(f.value as bigint);
      return b.readDoubleLE(0);
    }
  }
  return "";
}

function keyValue(buf: Buffer, into: Record<string, string | number | boolean>): void {
  let key = "";
  let value: string | number | boolean = "";
  for (const f of fields(buf)) {
    if (f.no === 1) key = str(f.value);
    else if (f.no === 2) value = anyValue(f.value as Buffer);
  }
  into[key] = value;
}

function span(buf: Buffer, resource: DecodedSpan["resource"]): DecodedSpan {
  const s: DecodedSpan = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    traceState: "",
    name: "",
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    attributes: {},
    events: [],
    statusCode: 0,
    resource,
  };
  for (const f of fields(buf)) {
    const v = f.value;
    switch (f.no) {
      case 1:
        s.traceId = hex(v);
        break;
      case 2:
        s.spanId = hex(v);
        break;
      case 3:
        s.traceState = str(v);
        break;
      case 4:
        s.parentSpanId = hex(v);
        break;
      case 5:
        s.name = str(v);
        break;
      case 6:
        s.kind = Number(v);
        break;
      case 7:
        s.startNs = v as bigint;
        break;
      case 8:
        s.endNs = v as bigint;
        break;
      case 9:
        keyValue(v as Buffer, s.attributes);
        break;
      case 11: {
        const e = { name: "", timeNs: 0n };
        for (const g of fields(v as Buffer)) {
          if (g.no === 1) e.timeNs = g.value as bigint;
          else if (g.no === 2) e.name = str(g.value);
        }
        s.events.push(e);
        break;
      }
      case 15:
        for (const g of fields(v as Buffer)) if (g.no === 3) s.statusCode = Number(g.value);
        break;
    }
  }
  return s;
}

/** Decodes an `ExportTraceServiceRequest`. */
export function decodeTraces(buf: Buffer): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (const rs of fields(buf)) {
    if (rs.no !== 1) continue;
    const resource: DecodedSpan["resource"] = {};
    const scopes: Buffer[] = [];
    for (const f of fields(rs.value as Buffer)) {
      if (f.no === 1)
        for (const a of fields(f.value as Buffer)) if (a.no === 1) keyValue(a.value as Buffer, resource);
      if (f.no === 2) scopes.push(f.value as Buffer);
    }
    for (const scope of scopes) {
      for (const f of fields(scope)) if (f.no === 2) out.push(span(f.value as Buffer, resource));
    }
  }
  return out;
}

export interface Receiver {
  url: string;
  spans: DecodedSpan[];
  contentTypes: string[];
  /** Bodies `decode` could not read (answered 400), so a test can say why no span came. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * Listens on a free port for `POST /v1/traces` and keeps every span; `decode` reads a body
 * (OTLP protobuf by default). It answers 200 with an empty body of the request's content type, or
 * 400 when `decode` throws (the error is kept in `errors`, never thrown out of the test process).
 */
export async function startReceiver(
  decode: (body: Buffer) => DecodedSpan[] = decodeTraces,
): Promise<Receiver> {
  const spans: DecodedSpan[] = [];
  const contentTypes: string[] = [];
  const errors: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") {
        const type = String(req.headers["content-type"]);
        contentTypes.push(type);
        try {
          spans.push(...decode(Buffer.concat(chunks)));
        } catch (err) {
          errors.push(`${type}: ${(err as Error).message}`);
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200, { "content-type": type }).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    errors,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
