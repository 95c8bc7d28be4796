/**
 * How KServe v2 (Open Inference Protocol) tensor requests are batched: every input tensor is
 * concatenated along its first (batch) dimension, and every output tensor of the answer is split
 * back by rows, so each caller gets the rows of its own inputs.
 */
import {
  concatBatch,
  type InferResponse,
  type InferTensor,
  splitBatch,
  TensorError,
} from "../backends/kserve-tensors.js";
import type { RequestContext } from "../core/context.js";
import { GatewayError } from "../core/errors.js";
import type { RouteRequest } from "../core/types.js";
import type { BatchCodec } from "./codec.js";

/** One caller's tensor request, ready to ride in a batch. */
export interface TensorMember {
  readonly req: RouteRequest;
  readonly ctx: RequestContext;
  /** The input tensors, by name in a stable order. */
  readonly inputs: readonly InferTensor[];
  /** Rows along the batch dimension (the same for every input). */
  readonly rows: number;
  /** The caller's request `id`, echoed in its own answer. */
  readonly id: string | undefined;
}

function bad(why: string): GatewayError {
  return new GatewayError("upstream_bad_response", `upstream inference answer could not be split: ${why}`);
}

/** The rows of a request when every input has the same non-zero batch dimension; undefined otherwise. */
function rowsOf(inputs: readonly InferTensor[]): number | undefined {
  let rows: number | undefined;
  for (const t of inputs) {
    const n = t.shape[0];
    if (n === undefined || n === 0 || (rows !== undefined && n !== rows)) return undefined;
    rows = n;
  }
  return rows;
}

/**
 * Requests share a batch when everything but the rows is the same: request parameters, requested
 * outputs, and each input's name, data type, inner shape and parameters; also the forwarded headers
 * and the priority class.
 */
function keyOf(req: RouteRequest, inputs: readonly InferTensor[]): string {
  const { inputs: _inputs, id: _id, ...rest } = req.body;
  const shapes = inputs.map((t) => [t.name, t.datatype, t.shape.slice(1), t.parameters ?? null]);
  return JSON.stringify([req.priority ?? "", req.forwardHeaders ?? {}, rest, shapes]);
}

function parseAnswer(payload: Buffer | string): InferResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof payload === "string" ? payload : payload.toString("utf8"));
  } catch {
    throw bad("not JSON");
  }
  const outputs = (parsed as { outputs?: unknown } | null)?.outputs;
  if (!Array.isArray(outputs)) throw bad("no 'outputs'");
  return parsed as InferResponse;
}

/** The codec of `POST /v2/models/{name}/infer` (operation `infer`) for the batching front. */
export function kserveCodec(): BatchCodec<TensorMember> {
  return {
    prepare(req, ctx) {
      if (req.op !== "infer" || req.stream || !Array.isArray(req.body.inputs)) return undefined;
      const inputs = [...(req.body.inputs as InferTensor[])].sort((a, b) => (a.name < b.name ? -1 : 1));
      const rows = rowsOf(inputs);
      if (rows === undefined) return undefined;
      const id = typeof req.body.id === "string" ? req.body.id : undefined;
      return { key: keyOf(req, inputs), size: rows, member: { req, ctx, inputs, rows, id } };
    },
    merge(members) {
      const first = members[0] as TensorMember;
      const inputs = first.inputs.map((_t, i) => concatBatch(members.map((m) => m.inputs[i] as InferTensor)));
      const { id: _id, ...rest } = first.req.body;
      return { ...first.req, body: { ...rest, inputs }, raw: undefined };
    },
    split(result, members, live) {
      if (result.kind !== "json") throw new GatewayError("internal_error", "a tensor batch was streamed");
      const answer = parseAnswer(result.payload);
      const sizes = members.map((m) => m.rows);
      const total = sizes.reduce((a, b) => a + b, 0);
      const parts = answer.outputs.map((out) => {
        if (out.shape?.[0] !== total)
          throw bad(`output '${out.name}' has ${out.shape?.[0]} rows for ${total}`);
        try {
          return splitBatch(out, sizes);
        } catch (err) {
          throw err instanceof TensorError ? bad(err.message) : err;
        }
      });
      const { id: _id, outputs: _outputs, ...rest } = answer;
      return members.map((m, i) => {
        if (!live(i)) return undefined;
        const own = { ...rest, ...(m.id === undefined ? {} : { id: m.id }), outputs: parts.map((p) => p[i]) };
        return { kind: "json", payload: JSON.stringify(own), usage: undefined, endpoint: result.endpoint };
      });
    },
  };
}
