/** Listener credentials: plaintext, TLS, or mutual TLS, from PEM files named in `grpc.tls`. */
import { readFileSync } from "node:fs";
import { ServerCredentials } from "@grpc/grpc-js";
import type { GrpcTlsConfig } from "./config.js";

function readPem(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`grpc.tls.${field}: cannot read '${file}': ${(err as Error).message}`);
  }
}

/** Reads the files now, so a bad path fails at start, not on the first handshake. */
export function serverCredentials(tls: GrpcTlsConfig | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const pair = {
    cert_chain: readPem(tls.certFile, "certFile"),
    private_key: readPem(tls.keyFile, "keyFile"),
  };
  const mutual = tls.clientCaFile !== undefined && tls.requireClientCert;
  const ca = mutual ? readPem(tls.clientCaFile as string, "clientCaFile") : null;
  return ServerCredentials.createSsl(ca, [pair], mutual);
}
