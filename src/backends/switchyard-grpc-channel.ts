import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { GatewayError } from "../core/errors.js";

/**
 * What the gRPC backends (`kserve-v2` over gRPC, `switchyard-grpc`) share: loading a .proto, a small
 * pool of long-lived channels with keepalive pings, unary calls that a signal cancels, and the
 * mapping of upstream gRPC statuses onto the gateway's upstream error codes.
 */

/** Folder of the .proto files shipped with Switchyard (`proto/` at the package root). */
export const PROTO_ROOT = fileURLToPath(new URL("../../proto/", import.meta.url));

/** Loader options of the KServe .proto (they match the types in src/grpc/generated/kserve). */
export const KSERVE_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** Loads a .proto under `proto/` with the KServe loader options and returns its package tree. */
export function loadProto(file: string): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, KSERVE_LOADER_OPTIONS));
}

export interface ChannelSettings {
  tls: boolean;
  channels: number;
  connectTimeoutMs: number;
  keepAliveTimeMs: number;
  keepAliveTimeoutMs: number;
  maxMessageBytes: number;
}

/** Channel options: keepalive pings (also between calls), message limits, own connections per client. */
export function channelOptions(s: ChannelSettings): grpc.ChannelOptions {
  return {
    "grpc.keepalive_time_ms": s.keepAliveTimeMs,
    "grpc.keepalive_timeout_ms": s.keepAliveTimeoutMs,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": s.maxMessageBytes,
    "grpc.max_send_message_length": s.maxMessageBytes,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 5_000,
    // Each client of the pool gets its own subchannel, hence its own HTTP/2 connection.
    "grpc.use_local_subchannel_pool": 1,
  };
}

type ClientCtor<C> = new (target: string, creds: grpc.ChannelCredentials, opts: grpc.ChannelOptions) => C;

/** A few clients (HTTP/2 connections) to one target, used in turn. */
export class ChannelPool<C extends grpc.Client> {
  private readonly clients: C[];
  private turn = 0;

  constructor(ctor: ClientCtor<C>, target: string, s: ChannelSettings) {
    const creds = s.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    const opts = channelOptions(s);
    this.clients = Array.from({ length: s.channels }, () => new ctor(target, creds, opts));
  }

  next(): C {
    const c = this.clients[this.turn]!;
    this.turn = (this.turn + 1) % this.clients.length;
    return c;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

/** Metadata of one call: the endpoint's own headers, then the call's (trace, request id, forwarded). */
export function callMetadata(...sets: ReadonlyArray<Record<string, string> | undefined>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const set of sets) {
    if (!set) continue;
    for (const [k, v] of Object.entries(set)) {
      const key = k.toLowerCase();
      if (v !== undefined && key !== "content-type" && key !== "content-length") md.set(key, v);
    }
  }
  return md;
}

type UnaryMethod<Req, Res> = (
  req: Req,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * One unary call with a deadline of `timeoutMs`; aborting `signal` cancels the call on the wire
 * (the upstream sees RST_STREAM) and rejects with the signal's reason.
 */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  req: Req,
  md: grpc.Metadata,
  signal: AbortSignal,
  timeoutMs: number,
  label: string,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => call.cancel();
    const call = method(req, md, { deadline: Date.now() + timeoutMs }, (err, res) => {
      signal.removeEventListener("abort", onAbort);
      if (err) reject(grpcUpstreamError(err, label, signal));
      else if (res === undefined)
        reject(new GatewayError("upstream_bad_response", `upstream ${label} sent no message`));
      else resolve(res);
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): GatewayError {
  return signal.reason instanceof GatewayError
    ? signal.reason
    : new GatewayError("client_closed_request", "the call was cancelled");
}

/** Seconds to wait before a retry, from `retry-after-ms` (or `retry-after`) trailing metadata. */
function retryAfterOf(md: grpc.Metadata | undefined): number | undefined {
  const ms = Number(md?.get("retry-after-ms")[0]);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms / 1000);
  const s = Number(md?.get("retry-after")[0]);
  return Number.isFinite(s) && s >= 0 ? Math.ceil(s) : undefined;
}

const REJECTED_STATUS: Partial<Record<grpc.status, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.OUT_OF_RANGE]: 400,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
};

/**
 * An upstream gRPC status as the gateway's error, as upstreamStatusError maps HTTP statuses:
 * UNAVAILABLE → `upstream_unavailable`, DEADLINE_EXCEEDED → `upstream_timeout`, RESOURCE_EXHAUSTED →
 * `upstream_rate_limited`, caller mistakes (INVALID_ARGUMENT, NOT_FOUND, …) → `upstream_rejected`
 * with the matching HTTP status, everything else → `upstream_error`. A call this side cancelled keeps
 * the reason of its abort.
 */
export function grpcUpstreamError(
  err: Partial<grpc.StatusObject> & { message?: string },
  label: string,
  signal?: AbortSignal,
): GatewayError {
  if (signal?.aborted) return abortError(signal);
  const code = err.code ?? grpc.status.UNKNOWN;
  const msg = err.details || err.message || grpc.status[code] || "no message";
  const retryAfterSeconds = retryAfterOf(err.metadata);
  const rejected = REJECTED_STATUS[code];
  if (rejected !== undefined) return new GatewayError("upstream_rejected", msg, { status: rejected });
  switch (code) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
      return new GatewayError(
        "upstream_unavailable",
        `upstream ${label} unavailable (${grpc.status[code]}): ${msg}`,
        {
          retryAfterSeconds,
        },
      );
    case grpc.status.DEADLINE_EXCEEDED:
      return new GatewayError("upstream_timeout", `upstream ${label} did not answer in time: ${msg}`);
    case grpc.status.RESOURCE_EXHAUSTED:
      return new GatewayError("upstream_rate_limited", `upstream ${label} is rate limiting: ${msg}`, {
        retryAfterSeconds,
      });
    default:
      return new GatewayError(
        "upstream_error",
        `upstream ${label} failed with ${grpc.status[code] ?? code}: ${msg}`,
      );
  }
}
