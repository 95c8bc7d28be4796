import { z } from "zod";
import { GatewayError } from "../core/errors.js";

/**
 * The tensors of the KServe v2 / Open Inference Protocol, in their JSON form: what the gateway's
 * `POST /v2/models/{name}/infer` takes and answers, what the `kserve-v2` backend sends over HTTP and
 * converts to and from protobuf over gRPC (kserve-codec.ts). Data is always held flat, in row-major
 * order; the batch dimension is the first one (`concatBatch` / `splitBatch`).
 */

export const KSERVE_DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BF16",
  "BYTES",
] as const;
export type KServeDatatype = (typeof KSERVE_DATATYPES)[number];

/** A parameter value (request, response or tensor `parameters`). */
export type InferParameterValue = string | number | boolean;
export type InferParameters = Record<string, InferParameterValue>;

/** Flat tensor data: booleans for BOOL, strings for BYTES, numbers otherwise. */
export type TensorData = number[] | boolean[] | string[];

export interface InferTensor {
  name: string;
  datatype: KServeDatatype;
  shape: number[];
  parameters?: InferParameters;
  data: TensorData;
}

export interface RequestedOutput {
  name: string;
  parameters?: InferParameters;
}

export interface InferRequest {
  id?: string;
  parameters?: InferParameters;
  inputs: InferTensor[];
  outputs?: RequestedOutput[];
}

export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: InferParameters;
  outputs: InferTensor[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  /** -1 marks a variable-size dimension. */
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** Bounds of one request: inputs and outputs per request, dimensions per tensor, elements per tensor. */
export const TENSOR_LIMITS = { tensors: 64, rank: 16, elements: 64 * 1024 * 1024, parameters: 64 } as const;

const parameters = z
  .record(z.string().min(1).max(256), z.union([z.string().max(65_536), z.number(), z.boolean()]))
  .refine((p) => Object.keys(p).length <= TENSOR_LIMITS.parameters, {
    message: `at most ${TENSOR_LIMITS.parameters} parameters`,
  });
const tensorName = z.string().min(1, "must not be empty").max(256);

const inputSchema = z.looseObject({
  name: tensorName,
  datatype: z.enum(KSERVE_DATATYPES),
  shape: z.array(z.number().int().nonnegative()).max(TENSOR_LIMITS.rank),
  parameters: parameters.optional(),
  data: z.array(z.unknown()),
});

/** The structure of an inference request; element values are checked by `parseInferRequest`. */
export const inferRequestSchema = z.looseObject({
  id: z.string().max(256).optional(),
  parameters: parameters.optional(),
  inputs: z.array(inputSchema).min(1, "needs at least one input").max(TENSOR_LIMITS.tensors),
  outputs: z
    .array(z.looseObject({ name: tensorName, parameters: parameters.optional() }))
    .max(TENSOR_LIMITS.tensors)
    .optional(),
});

/** A problem with a request body, naming the field at fault (`inputs[0].data`). */
export class TensorError extends Error {
  constructor(
    message: string,
    readonly param: string | null,
  ) {
    super(message);
  }

  toGatewayError(): GatewayError {
    return new GatewayError("invalid_request", this.message, { param: this.param });
  }
}

/** Number of elements of a shape (1 for a scalar's empty shape). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const INT_RANGE: Partial<Record<KServeDatatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32_768, 32_767],
  INT32: [-2_147_483_648, 2_147_483_647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT8: [0, 255],
  UINT16: [0, 65_535],
  UINT32: [0, 4_294_967_295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** A checker for one element of a data type; returns what the element must be when it is not. */
function elementCheck(datatype: KServeDatatype): (v: unknown) => string | undefined {
  if (datatype === "BOOL") return (v) => (typeof v === "boolean" ? undefined : "true or false");
  if (datatype === "BYTES") return (v) => (typeof v === "string" ? undefined : "a string");
  const range = INT_RANGE[datatype];
  if (range) {
    const [lo, hi] = range;
    return (v) =>
      typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi
        ? undefined
        : `an integer from ${lo} to ${hi}`;
  }
  return (v) => (typeof v === "number" && Number.isFinite(v) ? undefined : "a finite number");
}

/** Flattens nested row-major data (at most `rank` levels deep) into one array. */
function flatten(data: readonly unknown[], rank: number, param: string): unknown[] {
  if (!data.some(Array.isArray)) return data as unknown[];
  const out: unknown[] = [];
  const walk = (arr: readonly unknown[], depth: number): void => {
    for (const v of arr) {
      if (!Array.isArray(v)) out.push(v);
      else if (depth >= rank)
        throw new TensorError(`Invalid value for '${param}': nested deeper than the shape.`, param);
      else walk(v, depth + 1);
    }
  };
  walk(data, 1);
  return out;
}

/** Checks a tensor's data against its data type and shape; returns it flat. */
export function checkTensorData(
  datatype: KServeDatatype,
  shape: readonly number[],
  data: readonly unknown[],
  param: string,
): TensorData {
  const flat = flatten(data, Math.max(shape.length, 1), param);
  const count = elementCount(shape);
  if (count > TENSOR_LIMITS.elements)
    throw new TensorError(
      `Invalid value for '${param}': more than ${TENSOR_LIMITS.elements} elements.`,
      param,
    );
  if (flat.length !== count)
    throw new TensorError(
      `Invalid value for '${param}': shape [${shape.join(", ")}] needs ${count} elements, got ${flat.length}.`,
      param,
    );
  const check = elementCheck(datatype);
  for (let i = 0; i < flat.length; i++) {
    const want = check(flat[i]);
    if (want)
      throw new TensorError(
        `Invalid value for '${param}[${i}]': a ${datatype} element must be ${want}.`,
        `${param}[${i}]`,
      );
  }
  return flat as TensorData;
}

function paramOf(path: readonly PropertyKey[]): string | null {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || null;
}

/**
 * Validates an inference request body (structure with zod, then every element) and returns it with
 * flat data. Unknown fields are kept. Throws `TensorError` naming the offending field.
 */
export function parseInferRequest(body: unknown): InferRequest {
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new TensorError("The request body must be a JSON object.", null);
  const parsed = inferRequestSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const param = paramOf(issue.path);
    const where = param ? `'${param}'` : "the request body";
    const msg =
      issue.code === "invalid_type" && issue.input === undefined
        ? `Missing required parameter: ${where}.`
        : `Invalid value for ${where}: ${issue.message}.`;
    throw new TensorError(msg, param);
  }
  const req = parsed.data as unknown as InferRequest;
  const names = new Set<string>();
  req.inputs.forEach((t, i) => {
    if (names.has(t.name)) throw new TensorError(`Input '${t.name}' is given twice.`, `inputs[${i}].name`);
    names.add(t.name);
    t.data = checkTensorData(t.datatype, t.shape, t.data, `inputs[${i}].data`);
  });
  return req;
}

/** Batch size of a tensor: its first dimension. */
export function batchSize(t: InferTensor): number {
  if (t.shape.length === 0)
    throw new TensorError(`Tensor '${t.name}' is a scalar: it has no batch dimension.`, null);
  return t.shape[0]!;
}

/**
 * Joins tensors of the same name, data type and inner shape along the batch dimension (for a
 * micro-batcher): shapes [2, 8] and [3, 8] give [5, 8].
 */
export function concatBatch(parts: readonly InferTensor[]): InferTensor {
  const first = parts[0];
  if (!first) throw new TensorError("Nothing to concatenate.", null);
  const inner = first.shape.slice(1).join(",");
  let rows = 0;
  for (const p of parts) {
    if (p.datatype !== first.datatype || p.shape.slice(1).join(",") !== inner)
      throw new TensorError(
        `Tensors '${first.name}' differ in data type or inner shape: [${first.shape}] ${first.datatype} vs [${p.shape}] ${p.datatype}.`,
        null,
      );
    rows += batchSize(p);
  }
  const data = ([] as unknown[]).concat(...parts.map((p) => p.data)) as TensorData;
  return { ...first, shape: [rows, ...first.shape.slice(1)], data };
}

/** Cuts a tensor along the batch dimension into parts of the given sizes (which must add up). */
export function splitBatch(t: InferTensor, sizes: readonly number[]): InferTensor[] {
  const rows = batchSize(t);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== rows) throw new TensorError(`Split sizes add up to ${total}, the batch has ${rows}.`, null);
  const per = rows === 0 ? 0 : t.data.length / rows;
  const out: InferTensor[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push({
      ...t,
      shape: [n, ...t.shape.slice(1)],
      data: t.data.slice(at * per, (at + n) * per) as TensorData,
    });
    at += n;
  }
  return out;
}
