import { z } from "zod";

const ms = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();

/** TLS of the gRPC listener: a certificate and key; with `clientCaFile`, client certificates (mTLS). */
export const grpcTlsSchema = z
  .object({
    /** PEM certificate chain the listener presents. */
    certFile: z.string().min(1),
    /** PEM private key of `certFile`. */
    keyFile: z.string().min(1),
    /** PEM CA bundle that client certificates are checked against: with it, mutual TLS. */
    clientCaFile: z.string().min(1).optional(),
    /** With `clientCaFile`: refuse clients without a certificate it signed (false turns mTLS off). */
    requireClientCert: z.boolean().default(true),
  })
  .strict();

export const grpcKeepaliveSchema = z
  .object({
    /** Ping an idle client connection after this long without activity. */
    timeMs: positiveInt.default(7_200_000),
    /** Close the connection when a ping is not answered within this time. */
    timeoutMs: positiveInt.default(20_000),
    /** Close connections with no call for this long (0 = never). */
    maxConnectionIdleMs: ms.default(0),
    /** Close connections after this age, letting their calls finish (0 = never). */
    maxConnectionAgeMs: ms.default(0),
    /** How long calls may run on after `maxConnectionAgeMs` before the connection is cut. */
    maxConnectionAgeGraceMs: ms.default(30_000),
  })
  .strict();

/** The gRPC front door (`switchyard.v1`): same auth, limits, deadlines and router as HTTP. */
export const grpcConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Address to listen on; defaults to `server.host` (or `--host`). */
    host: z.string().min(1).optional(),
    /** `--grpc-port` overrides; `0` picks a free port. */
    port: z.number().int().min(0).max(65535).default(8081),
    /** Largest request message; beyond it RESOURCE_EXHAUSTED. */
    maxMessageBytes: positiveInt.default(4 * 1024 * 1024),
    /** Largest response message (embeddings of big batches). */
    maxSendMessageBytes: positiveInt.default(64 * 1024 * 1024),
    /** Concurrent calls per client connection. */
    maxConcurrentStreams: positiveInt.default(1000),
    /** Server reflection (`grpc.reflection.v1`), so grpcurl and similar tools work without .proto files. */
    reflection: z.boolean().default(true),
    keepalive: grpcKeepaliveSchema.prefault({}),
    tls: grpcTlsSchema.optional(),
  })
  .strict();

export type GrpcConfig = z.infer<typeof grpcConfigSchema>;
export type GrpcTlsConfig = z.infer<typeof grpcTlsSchema>;
