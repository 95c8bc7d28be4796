/** gRPC clients of `switchyard.v1` for tests, loaded from the same .proto files as the gateway. */
import {
  type CallOptions,
  type ChannelCredentials,
  type ClientReadableStream,
  type ClientUnaryCall,
  credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import type { ProtoGrpcType as InferenceProto } from "../../src/grpc/generated/inference.js";
import type { ProtoGrpcType as JobsProto } from "../../src/grpc/generated/jobs.js";
import type { ChatRequest } from "../../src/grpc/generated/switchyard/v1/ChatRequest.js";
import type { ChatResponse__Output } from "../../src/grpc/generated/switchyard/v1/ChatResponse.js";
import type { CompletionRequest } from "../../src/grpc/generated/switchyard/v1/CompletionRequest.js";
import type { CompletionResponse__Output } from "../../src/grpc/generated/switchyard/v1/CompletionResponse.js";
import type { EmbedRequest } from "../../src/grpc/generated/switchyard/v1/EmbedRequest.js";
import type { EmbedResponse__Output } from "../../src/grpc/generated/switchyard/v1/EmbedResponse.js";
import type { InferenceClient } from "../../src/grpc/generated/switchyard/v1/Inference.js";
import type { Job__Output } from "../../src/grpc/generated/switchyard/v1/Job.js";
import type { JobsClient } from "../../src/grpc/generated/switchyard/v1/Jobs.js";
import type { SubmitJobRequest } from "../../src/grpc/generated/switchyard/v1/SubmitJobRequest.js";
import { switchyardPackage } from "../../src/grpc/protos.js";

export interface Clients {
  inference: InferenceClient;
  jobs: JobsClient;
  chat(req: ChatRequest, md?: Metadata, opts?: CallOptions): Promise<UnaryOutcome<ChatResponse__Output>>;
  complete(
    req: CompletionRequest,
    md?: Metadata,
    opts?: CallOptions,
  ): Promise<UnaryOutcome<CompletionResponse__Output>>;
  embed(req: EmbedRequest, md?: Metadata, opts?: CallOptions): Promise<UnaryOutcome<EmbedResponse__Output>>;
  submit(req: SubmitJobRequest, md?: Metadata): Promise<UnaryOutcome<Job__Output>>;
  get(id: string, md?: Metadata): Promise<UnaryOutcome<Job__Output>>;
  cancel(id: string, md?: Metadata): Promise<UnaryOutcome<Job__Output>>;
  close(): void;
}

export function connect(
  port: number,
  creds: ChannelCredentials = credentials.createInsecure(),
  options: Record<string, string | number> = {},
): Clients {
  const pkg = loadPackageDefinition(switchyardPackage()) as unknown as InferenceProto & JobsProto;
  const addr = `127.0.0.1:${port}`;
  const inference = new pkg.switchyard.v1.Inference(addr, creds, options);
  const jobs = new pkg.switchyard.v1.Jobs(addr, creds, options);
  const none = () => new Metadata();
  return {
    inference,
    jobs,
    chat: (req, md = none(), opts = {}) => unary((cb) => inference.Chat(req, md, opts, cb)),
    complete: (req, md = none(), opts = {}) => unary((cb) => inference.Complete(req, md, opts, cb)),
    embed: (req, md = none(), opts = {}) => unary((cb) => inference.Embed(req, md, opts, cb)),
    submit: (req, md = none()) => unary((cb) => jobs.Submit(req, md, cb)),
    get: (id, md = none()) => unary((cb) => jobs.Get({ id }, md, cb)),
    cancel: (id, md = none()) => unary((cb) => jobs.Cancel({ id }, md, cb)),
    close() {
      inference.close();
      jobs.close();
    },
  };
}

export function metadata(fields: Record<string, string> = {}): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(fields)) md.set(k, v);
  return md;
}

export interface UnaryOutcome<Res> {
  response?: Res;
  error?: ServiceError;
  /** Response headers (initial metadata); trailers of an error are on `error.metadata`. */
  headers: Metadata;
}

/** Runs a unary call; resolves with the answer or the error (never rejects). */
function unary<Res>(
  start: (cb: (err: ServiceError | null, res?: Res) => void) => ClientUnaryCall,
): Promise<UnaryOutcome<Res>> {
  return new Promise((resolve) => {
    let headers = new Metadata();
    const c = start((err, res) => {
      resolve(err ? { error: err, headers } : { response: res, headers });
    });
    c.on("metadata", (m: Metadata) => {
      headers = m;
    });
  });
}

/** Reads a server stream to its end: every message, and the error it ended with (if any). */
export function collect<T>(
  stream: ClientReadableStream<T>,
): Promise<{ messages: T[]; error?: ServiceError }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    stream.on("data", (m: T) => messages.push(m));
    stream.on("error", (error: ServiceError) => resolve({ messages, error }));
    stream.on("end", () => resolve({ messages }));
  });
}

export function trailer(err: ServiceError | undefined, key: string): string | undefined {
  const v = err?.metadata?.get(key)[0];
  return typeof v === "string" ? v : undefined;
}
