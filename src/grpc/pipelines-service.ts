/**
 * `switchyard.v1.Pipelines`: the same pipelines as `/v1/pipelines` — List, Run, and RunStream
 * (events per step, the stream steps' tokens, then the result). The call's deadline and
 * cancellation bound every step, as an HTTP request's do.
 */
import type { ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Usage } from "../core/types.js";
import type {
  PipelineEvent,
  PipelineInfo,
  PipelineResult,
  PipelineRunner,
  StepReport,
} from "../pipeline/index.js";
import { type CallDeps, type CallScope, serverStream, unary } from "./calls.js";
import { forwardedMetadata } from "./context.js";
import type { Struct, Struct__Output } from "./generated/google/protobuf/Struct.js";
import type { Value } from "./generated/google/protobuf/Value.js";
import { fromStruct, toStruct, toValue } from "./struct.js";

export const PIPELINES_SERVICE = "switchyard.v1.Pipelines";

export interface PipelinesDeps extends CallDeps {
  pipelines: PipelineRunner;
}

/** `RunPipelineRequest` as proto-loader delivers it. */
interface RunRequest {
  name?: string;
  input?: Struct__Output;
  debug?: boolean;
}

interface StepReportMessage {
  status: string;
  model: string;
  output?: Value;
  usage?: Usage;
  started_ms: number;
  duration_ms: number;
  items: number;
  error?: { code: string; message: string };
}

interface RunMessage {
  id: string;
  pipeline: string;
  output: Value;
  usage: Usage;
  duration_ms: number;
  steps: Record<string, StepReportMessage>;
}

type EventMessage =
  | { step_started: { step: string; model: string } }
  | { step_finished: { step: string; report: StepReportMessage } }
  | { token: { step: string; text: string } }
  | { result: RunMessage };

function reportMessage(r: StepReport, withOutput: boolean): StepReportMessage {
  return {
    status: r.status,
    model: r.model,
    ...(withOutput ? { output: toValue(r.output) } : {}),
    ...(r.usage ? { usage: r.usage } : {}),
    started_ms: r.started_ms,
    duration_ms: r.duration_ms,
    items: r.items ?? 0,
    ...(r.error ? { error: r.error } : {}),
  };
}

/** A pipeline's result as the `PipelineRun` message (also the result of a pipeline job). */
export function runMessage(r: PipelineResult): RunMessage {
  const steps: Record<string, StepReportMessage> = {};
  for (const [name, report] of Object.entries(r.steps ?? {})) steps[name] = reportMessage(report, true);
  return {
    id: r.id,
    pipeline: r.pipeline,
    output: toValue(r.output),
    usage: r.usage,
    duration_ms: r.duration_ms,
    steps,
  };
}

function infoMessage(p: PipelineInfo): Record<string, unknown> {
  return {
    name: p.id,
    description: p.description ?? "",
    inputs: toStruct(p.inputs) satisfies Struct,
    steps: p.steps.map((s) => ({ name: s.name, model: s.model, kind: s.kind, needs: [...s.needs] })),
    stream_steps: [...p.stream_steps],
    timeout_ms: p.timeout_ms,
  };
}

function eventMessage(e: PipelineEvent, debug: boolean): EventMessage {
  if (e.type === "step.started") return { step_started: { step: e.step, model: e.model } };
  if (e.type === "token") return { token: { step: e.step, text: e.text } };
  return { step_finished: { step: e.step, report: reportMessage(e.report, debug) } };
}

/** Looks the pipeline up, authorises the caller, checks the input, and builds the run's options. */
async function prepare(d: PipelinesDeps, req: RunRequest, s: CallScope) {
  const principal = await s.principal();
  const p = d.pipelines.get(req.name ?? "");
  // As over HTTP: the pipeline's timeout, or the deadline metadata, within the client's deadline.
  s.deadlineFrom(p.timeoutMs);
  d.pipelines.authorize(principal, p);
  const input = d.pipelines.validateInput(p, fromStruct(req.input));
  const forwardHeaders = forwardedMetadata(s.call.metadata, d.config.server.forwardHeaders);
  return { p, opts: { principal, ctx: s.ctx, input, debug: req.debug === true, forwardHeaders } };
}

async function runStream(
  d: PipelinesDeps,
  call: ServerWritableStream<RunRequest, EventMessage>,
  s: CallScope,
) {
  const { p, opts } = await prepare(d, call.request, s);
  // Events are written in order; a slow reader holds the next write, never the run.
  let chain = Promise.resolve();
  const send = (msg: EventMessage) => {
    chain = chain.then(() => s.write(call, msg));
  };
  const result = await d.pipelines.run(p, {
    ...opts,
    stream: true,
    onEvent: (e) => send(eventMessage(e, opts.debug)),
  });
  send({ result: runMessage(result) });
  await chain;
}

export function pipelinesHandlers(d: PipelinesDeps): UntypedServiceImplementation {
  const path = (m: string) => `/${PIPELINES_SERVICE}/${m}`;
  return {
    List: unary(d, path("List"), undefined, async (_req: unknown, s) => ({
      pipelines: d.pipelines.list(await s.principal()).map(infoMessage),
    })),
    Run: unary(d, path("Run"), undefined, async (req: RunRequest, s) => {
      const { p, opts } = await prepare(d, req, s);
      return runMessage(await d.pipelines.run(p, opts));
    }),
    RunStream: serverStream(
      d,
      path("RunStream"),
      undefined,
      (call: ServerWritableStream<RunRequest, EventMessage>, s) => runStream(d, call, s),
    ),
  };
}
