import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { kserveProto } from "../backends/kserve-grpc.js";
import { upstreamMessage } from "../backends/upstream-errors.js";
import type { Operation } from "../core/types.js";
import type { InferenceHandlers } from "../grpc/generated/switchyard/v1/Inference.js";
import { switchyardPackage } from "../grpc/protos.js";
import { chatBody, completionBody, embedBody } from "../grpc/requests.js";
import {
  chatChunk,
  chatResponse,
  completionResponse,
  embedResponse,
  parseAnswer,
} from "../grpc/responses.js";
import type { SimEngine, SimSink } from "./engine.js";
import { grpcError, resetError, type SimGrpcTracking, type TrackedCall, track } from "./grpc-common.js";
import { kserveHandlers } from "./grpc-kserve.js";
import type { SimTensorModel } from "./kserve-model.js";

/**
 * The sim's gRPC listener: `switchyard.v1.Inference` over its chat and embedding models,
 * `inference.GRPCInferenceService` (KServe v2) over its tensor models, and `grpc.health.v1`.
 * Calls count in `/sim/stats` and `/sim/requests/:id` as HTTP requests do, and take faults from
 * `x-sim-fault` metadata: an injected status becomes the matching gRPC status (503 → UNAVAILABLE,
 * 500 → INTERNAL, 504 → DEADLINE_EXCEEDED, 429 → RESOURCE_EXHAUSTED, 400 → INVALID_ARGUMENT, …),
 * a reset becomes UNAVAILABLE, a hang never answers.
 */

export interface SimGrpcOptions extends SimGrpcTracking {
  host: string;
  port: number;
  engines: ReadonlyMap<string, SimEngine>;
  tensors: ReadonlyMap<string, SimTensorModel>;
  maxMessageBytes: number;
}

export interface SimGrpcServer {
  port: number;
  close(): void;
}

type Obj = Record<string, unknown>;

/** Where an engine's answer to a unary call goes. */
function unarySink(
  tracked: TrackedCall,
  reply: (err: grpc.ServerErrorResponse | null, body?: Obj) => void,
): SimSink {
  return {
    start() {},
    event() {},
    end() {},
    json(status, text, _usage, retryAfter) {
      tracked.end(String(status));
      if (status >= 400) reply(grpcError(status, upstreamMessage(text), retryAfter));
      else reply(null, parseAnswer(text));
    },
    reset() {
      tracked.end("reset");
      reply(resetError());
    },
  };
}

function engineFor(engines: ReadonlyMap<string, SimEngine>, body: Obj): SimEngine | grpc.ServerErrorResponse {
  const name = typeof body.model === "string" ? body.model : "";
  return engines.get(name) ?? grpcError(404, `the model '${name}' does not exist`);
}

function unary<Req, Res>(
  o: SimGrpcOptions,
  op: Operation,
  toBody: (r: Req) => Obj,
  toMsg: (j: Obj) => Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    const tracked = track(o, call);
    let body: Obj;
    try {
      body = toBody(call.request);
    } catch (err) {
      tracked.end("400");
      return cb(grpcError(400, (err as Error).message));
    }
    const engine = engineFor(o.engines, body);
    if (!(engine instanceof Object && "handle" in engine)) {
      tracked.end("404");
      return cb(engine);
    }
    const sink = unarySink(tracked, (err, j) => (err ? cb(err) : cb(null, toMsg(j as Obj))));
    const attempt = tracked.attempt?.number ?? 1;
    engine.handle({ op, body, stream: false, fault: tracked.fault, attempt, signal: tracked.signal }, sink);
  };
}

function chatStream(o: SimGrpcOptions): InferenceHandlers["ChatStream"] {
  return (call) => {
    const tracked = track(o, call);
    const fail = (outcome: string, err: grpc.ServerErrorResponse) => {
      tracked.end(outcome);
      call.emit("error", err);
    };
    let body: Obj;
    try {
      body = { ...chatBody(call.request), stream: true, stream_options: { include_usage: true } };
    } catch (err) {
      return fail("400", grpcError(400, (err as Error).message));
    }
    const engine = engineFor(o.engines, body);
    if (!("handle" in engine)) return fail("404", engine);
    const sink: SimSink = {
      start() {},
      event: (data) => call.write(chatChunk(JSON.parse(data) as Obj)),
      end() {
        tracked.end("200");
        call.end();
      },
      json: (status, text, _u, retryAfter) =>
        fail(String(status), grpcError(status, upstreamMessage(text), retryAfter)),
      reset: () => fail("reset", resetError()),
    };
    const attempt = tracked.attempt?.number ?? 1;
    engine.handle(
      { op: "chat", body, stream: true, fault: tracked.fault, attempt, signal: tracked.signal },
      sink,
    );
  };
}

function inferenceHandlers(o: SimGrpcOptions): InferenceHandlers {
  return {
    Chat: unary(o, "chat", chatBody, chatResponse),
    ChatStream: chatStream(o),
    Complete: unary(o, "completion", completionBody, completionResponse),
    Embed: unary(o, "embedding", embedBody, embedResponse),
  };
}

/** Starts the sim's gRPC listener on `host:port` (0 = a free port). */
export function startSimGrpc(o: SimGrpcOptions): Promise<SimGrpcServer> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": o.maxMessageBytes,
    "grpc.max_send_message_length": o.maxMessageBytes,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  });
  const sy = grpc.loadPackageDefinition(switchyardPackage()) as unknown as {
    switchyard: { v1: { Inference: { service: grpc.ServiceDefinition } } };
  };
  server.addService(sy.switchyard.v1.Inference.service, inferenceHandlers(o));
  server.addService(kserveProto().inference.GRPCInferenceService.service, kserveHandlers(o.tensors, o));
  new HealthImplementation({
    "": "SERVING",
    "switchyard.v1.Inference": "SERVING",
    "inference.GRPCInferenceService": "SERVING",
  }).addToServer(server);
  return new Promise((resolve, reject) => {
    server.bindAsync(`${o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err);
      resolve({ port, close: () => server.forceShutdown() });
    });
  });
}
