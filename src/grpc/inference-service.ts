/** `switchyard.v1.Inference`: messages → the same gate and router as HTTP → messages. */
import { GatewayError } from "../core/errors.js";
import type { JsonResult, Operation, RouteResult } from "../core/types.js";
import { validateBody } from "../http/validation.js";
import { runIdempotent, type SyncIdempotency } from "../jobs/idempotency.js";
import { runAdmitted, type Ticket } from "../policy/gate.js";
import type { Router } from "../routing/router.js";
import { type CallDeps, type CallScope, serverStream, unary } from "./calls.js";
import { forwardedMetadata, metaValue } from "./context.js";
import type { ChatRequest__Output } from "./generated/switchyard/v1/ChatRequest.js";
import type { CompletionRequest__Output } from "./generated/switchyard/v1/CompletionRequest.js";
import type { EmbedRequest__Output } from "./generated/switchyard/v1/EmbedRequest.js";
import type { InferenceHandlers } from "./generated/switchyard/v1/Inference.js";
import { chatBody, completionBody, embedBody } from "./requests.js";
import { chatChunk, chatResponse, completionResponse, embedResponse, parseAnswer } from "./responses.js";

export const INFERENCE_SERVICE = "switchyard.v1.Inference";

export interface InferenceDeps extends CallDeps {
  router: Router;
  /** `idempotency-key` metadata on unary calls (from the jobs module); none when jobs are off. */
  idempotency?: SyncIdempotency;
}

/** Validates, authorises and admits a request, then runs it through the router. */
async function route(
  d: InferenceDeps,
  s: CallScope,
  op: Operation,
  input: Record<string, unknown>,
  stream: boolean,
): Promise<RouteResult> {
  const md = s.call.metadata;
  const principal = await s.principal();
  if (stream) {
    input.stream = true;
    input.stream_options = { include_usage: true };
  }
  const body = validateBody(op, input);
  const model = body.model as string;
  d.router.resolve(op, model);
  // A call with an idempotency key never starts before its reservation is allowed (see runAdmitted).
  const idemKey = metaValue(md, "idempotency-key");
  const admitted = d.gate.admit(principal, op, model, body, { earlyStart: idemKey === undefined });
  const raw = Buffer.from(JSON.stringify(body));
  const call = { principalId: principal.id, body: raw, stream };
  const execute = runIdempotent(d.idempotency, idemKey, call, (r, c) => d.router.execute(r, c));
  const setLimitHeaders = (ticket: Ticket) => {
    for (const [k, v] of Object.entries(ticket.headers)) s.header(k, v);
  };
  return runAdmitted(admitted, s.ctx, setLimitHeaders, () =>
    execute(
      {
        op,
        model,
        body,
        raw,
        stream,
        clientWantsStreamUsage: stream,
        // A principal's own priority class wins over what the call asks for.
        priority: principal.priority ?? metaValue(md, "x-switchyard-priority"),
        forwardHeaders: forwardedMetadata(md, d.config.server.forwardHeaders),
      },
      s.ctx,
    ),
  );
}

async function json(
  d: InferenceDeps,
  s: CallScope,
  op: Operation,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = await route(d, s, op, body, false);
  if (result.kind !== "json") {
    result.discard();
    throw new GatewayError(
      "upstream_bad_response",
      "The upstream streamed an answer that was asked for whole.",
    );
  }
  return parseAnswer((result as JsonResult).payload);
}

export function inferenceHandlers(d: InferenceDeps): InferenceHandlers {
  const path = (m: string) => `/${INFERENCE_SERVICE}/${m}`;
  return {
    Chat: unary(d, path("Chat"), "chat", async (req: ChatRequest__Output, s) =>
      chatResponse(await json(d, s, "chat", chatBody(req))),
    ),
    ChatStream: serverStream(d, path("ChatStream"), "chat", async (call, s) => {
      const result = await route(d, s, "chat", chatBody(call.request), true);
      if (result.kind !== "stream") {
        throw new GatewayError(
          "upstream_bad_response",
          "The upstream answered whole where a stream was asked for.",
        );
      }
      for await (const data of result.events) await s.write(call, chatChunk(parseAnswer(data)));
    }),
    Complete: unary(d, path("Complete"), "completion", async (req: CompletionRequest__Output, s) =>
      completionResponse(await json(d, s, "completion", completionBody(req))),
    ),
    Embed: unary(d, path("Embed"), "embedding", async (req: EmbedRequest__Output, s) =>
      embedResponse(await json(d, s, "embedding", embedBody(req))),
    ),
  };
}
