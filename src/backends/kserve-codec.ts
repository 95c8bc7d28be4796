import { setOwn } from "../core/own.js";
import type { InferParameter } from "../grpc/generated/kserve/inference/InferParameter.js";
import type {
  InferTensorContents,
  InferTensorContents__Output,
} from "../grpc/generated/kserve/inference/InferTensorContents.js";
import type {
  ModelInferRequest,
  ModelInferRequest__Output,
} from "../grpc/generated/kserve/inference/ModelInferRequest.js";
import type {
  ModelInferResponse,
  ModelInferResponse__Output,
} from "../grpc/generated/kserve/inference/ModelInferResponse.js";
import {
  checkTensorData,
  elementCount,
  type InferParameters,
  type InferRequest,
  type InferResponse,
  type InferTensor,
  KSERVE_DATATYPES,
  type KServeDatatype,
  type TensorData,
  TensorError,
} from "./kserve-tensors.js";

/**
 * Converts KServe v2 tensors between their JSON form (kserve-tensors.ts) and the gRPC messages, in
 * typed form (`InferTensorContents`) or raw form (`raw_input_contents` / `raw_output_contents`:
 * little-endian, row-major; BYTES elements each preceded by a 4-byte little-endian length).
 */

type Fixed = Exclude<KServeDatatype, "BYTES">;
interface Codec {
  size: number;
  get(dv: DataView, at: number): number | boolean;
  set(dv: DataView, at: number, v: number | boolean): void;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE 754 half, rounding to nearest. */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    return sign | ((mant >> shift) + ((mant >> (shift - 1)) & 1));
  }
  return (sign | (e << 10) | (mant >> 13)) + ((mant >> 12) & 1);
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

function toBf16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function fromBf16(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

const num = (v: number | boolean) => v as number;
const CODECS: Record<Fixed, Codec> = {
  BOOL: { size: 1, get: (dv, at) => dv.getUint8(at) !== 0, set: (dv, at, v) => dv.setUint8(at, v ? 1 : 0) },
  UINT8: { size: 1, get: (dv, at) => dv.getUint8(at), set: (dv, at, v) => dv.setUint8(at, num(v)) },
  INT8: { size: 1, get: (dv, at) => dv.getInt8(at), set: (dv, at, v) => dv.setInt8(at, num(v)) },
  UINT16: {
    size: 2,
    get: (dv, at) => dv.getUint16(at, true),
    set: (dv, at, v) => dv.setUint16(at, num(v), true),
  },
  INT16: {
    size: 2,
    get: (dv, at) => dv.getInt16(at, true),
    set: (dv, at, v) => dv.setInt16(at, num(v), true),
  },
  UINT32: {
    size: 4,
    get: (dv, at) => dv.getUint32(at, true),
    set: (dv, at, v) => dv.setUint32(at, num(v), true),
  },
  INT32: {
    size: 4,
    get: (dv, at) => dv.getInt32(at, true),
    set: (dv, at, v) => dv.setInt32(at, num(v), true),
  },
  UINT64: {
    size: 8,
    get: (dv, at) => Number(dv.getBigUint64(at, true)),
    set: (dv, at, v) => dv.setBigUint64(at, BigInt(num(v)), true),
  },
  INT64: {
    size: 8,
    get: (dv, at) => Number(dv.getBigInt64(at, true)),
    set: (dv, at, v) => dv.setBigInt64(at, BigInt(num(v)), true),
  },
  FP16: {
    size: 2,
    get: (dv, at) => fromHalf(dv.getUint16(at, true)),
    set: (dv, at, v) => dv.setUint16(at, toHalf(num(v)), true),
  },
  BF16: {
    size: 2,
    get: (dv, at) => fromBf16(dv.getUint16(at, true)),
    set: (dv, at, v) => dv.setUint16(at, toBf16(num(v)), true),
  },
  FP32: {
    size: 4,
    get: (dv, at) => dv.getFloat32(at, true),
    set: (dv, at, v) => dv.setFloat32(at, num(v), true),
  },
  FP64: {
    size: 8,
    get: (dv, at) => dv.getFloat64(at, true),
    set: (dv, at, v) => dv.setFloat64(at, num(v), true),
  },
};

/** A tensor's data in raw form. */
export function encodeRaw(datatype: KServeDatatype, data: TensorData): Buffer {
  if (datatype === "BYTES") {
    const parts: Buffer[] = [];
    for (const s of data as string[]) {
      const bytes = Buffer.from(s, "utf8");
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(bytes.length, 0);
      parts.push(len, bytes);
    }
    return Buffer.concat(parts);
  }
  const codec = CODECS[datatype];
  const buf = Buffer.alloc(codec.size * data.length);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < data.length; i++) codec.set(dv, i * codec.size, data[i] as number | boolean);
  return buf;
}

/** Raw bytes back into flat data; the byte length must match the shape. */
export function decodeRaw(
  datatype: KServeDatatype,
  shape: readonly number[],
  raw: Buffer,
  what: string,
): TensorData {
  const count = elementCount(shape);
  if (datatype === "BYTES") {
    const out: string[] = [];
    let at = 0;
    while (at < raw.length) {
      if (at + 4 > raw.length) break;
      const len = raw.readUInt32LE(at);
      if (at + 4 + len > raw.length) break;
      out.push(raw.toString("utf8", at + 4, at + 4 + len));
      at += 4 + len;
    }
    if (at !== raw.length || out.length !== count)
      throw new TensorError(`${what}: raw BYTES data does not hold ${count} length-prefixed elements.`, null);
    return out;
  }
  const codec = CODECS[datatype];
  if (raw.length !== count * codec.size)
    throw new TensorError(
      `${what}: ${raw.length} raw bytes, shape [${shape}] of ${datatype} needs ${count * codec.size}.`,
      null,
    );
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Array<number | boolean> = new Array(count);
  for (let i = 0; i < count; i++) out[i] = codec.get(dv, i * codec.size);
  return out as TensorData;
}

type ContentsField = keyof InferTensorContents__Output;
const FIELD: Record<KServeDatatype, ContentsField | undefined> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
  FP16: undefined,
  BF16: undefined,
};

/** Whether a data type can travel in typed form (FP16 and BF16 cannot). */
export function hasTypedForm(datatype: KServeDatatype): boolean {
  return FIELD[datatype] !== undefined;
}

function toContents(t: InferTensor): InferTensorContents {
  const field = FIELD[t.datatype];
  if (!field) throw new TensorError(`${t.datatype} tensors travel in raw form only.`, null);
  const values = t.datatype === "BYTES" ? (t.data as string[]).map((s) => Buffer.from(s, "utf8")) : t.data;
  return { [field]: values } as InferTensorContents;
}

function fromContents(
  t: { name: string; datatype: string; shape: number[] },
  c: InferTensorContents__Output | null,
  what: string,
): InferTensor {
  const datatype = asDatatype(t.datatype, what);
  const field = FIELD[datatype];
  if (!field || !c) throw new TensorError(`${what} '${t.name}' has no data.`, null);
  const values = c[field] as unknown[];
  const data = datatype === "BYTES" ? (values as Buffer[]).map((b) => b.toString("utf8")) : values;
  return {
    name: t.name,
    datatype,
    shape: t.shape,
    data: checkTensorData(datatype, t.shape, data, `${what} '${t.name}'`),
  };
}

function asDatatype(d: string, what: string): KServeDatatype {
  if ((KSERVE_DATATYPES as readonly string[]).includes(d)) return d as KServeDatatype;
  throw new TensorError(`${what}: unknown data type '${d}'.`, null);
}

export function toProtoParams(p: InferParameters | undefined): Record<string, InferParameter> | undefined {
  if (!p) return undefined;
  const out: Record<string, InferParameter> = {};
  for (const [k, v] of Object.entries(p)) {
    if (typeof v === "boolean") setOwn(out, k, { bool_param: v });
    else if (typeof v === "string") setOwn(out, k, { string_param: v });
    else if (Number.isSafeInteger(v)) setOwn(out, k, { int64_param: v });
    else setOwn(out, k, { double_param: v });
  }
  return out;
}

export function fromProtoParams(p: Record<string, InferParameter> | undefined): InferParameters | undefined {
  if (!p || Object.keys(p).length === 0) return undefined;
  const out: InferParameters = {};
  for (const [k, v] of Object.entries(p)) {
    const choice = v.parameter_choice;
    const value = choice ? v[choice] : undefined;
    if (value !== undefined && value !== null)
      setOwn(out, k, typeof value === "object" ? Number(value) : value);
  }
  return out;
}

/** A JSON request as a `ModelInferRequest`; raw form when asked or when a tensor has no typed form. */
export function requestToProto(
  req: InferRequest,
  model: string,
  version: string | undefined,
  raw: boolean,
): ModelInferRequest {
  const useRaw = raw || req.inputs.some((t) => !hasTypedForm(t.datatype));
  return {
    model_name: model,
    model_version: version ?? "",
    id: req.id ?? "",
    parameters: toProtoParams(req.parameters),
    inputs: req.inputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      parameters: toProtoParams(t.parameters),
      contents: useRaw ? null : toContents(t),
    })),
    outputs: req.outputs?.map((o) => ({ name: o.name, parameters: toProtoParams(o.parameters) })),
    raw_input_contents: useRaw ? req.inputs.map((t) => encodeRaw(t.datatype, t.data)) : [],
  };
}

/** A `ModelInferRequest` as a JSON request (typed or raw inputs); throws `TensorError`. */
export function requestFromProto(msg: ModelInferRequest__Output): InferRequest {
  const raw = msg.raw_input_contents;
  if (raw.length > 0 && raw.length !== msg.inputs.length)
    throw new TensorError(
      `raw_input_contents has ${raw.length} entries for ${msg.inputs.length} inputs.`,
      null,
    );
  const inputs = msg.inputs.map((t, i) => {
    const datatype = asDatatype(t.datatype, "input");
    if (raw.length === 0)
      return { ...fromContents(t, t.contents, "input"), parameters: fromProtoParams(t.parameters) };
    if (t.contents)
      throw new TensorError(`input '${t.name}' has contents while raw_input_contents is used.`, null);
    return {
      name: t.name,
      datatype,
      shape: t.shape,
      parameters: fromProtoParams(t.parameters),
      data: decodeRaw(datatype, t.shape, raw[i]!, `input '${t.name}'`),
    };
  });
  const out: InferRequest = { inputs };
  if (msg.id) out.id = msg.id;
  const params = fromProtoParams(msg.parameters);
  if (params) out.parameters = params;
  if (msg.outputs.length > 0)
    out.outputs = msg.outputs.map((o) => ({ name: o.name, parameters: fromProtoParams(o.parameters) }));
  return out;
}

/** A JSON response as a `ModelInferResponse` (raw or typed outputs). */
export function responseToProto(res: InferResponse, raw: boolean): ModelInferResponse {
  const useRaw = raw || res.outputs.some((t) => !hasTypedForm(t.datatype));
  return {
    model_name: res.model_name,
    model_version: res.model_version ?? "",
    id: res.id ?? "",
    parameters: toProtoParams(res.parameters),
    outputs: res.outputs.map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      parameters: toProtoParams(t.parameters),
      contents: useRaw ? null : toContents(t),
    })),
    raw_output_contents: useRaw ? res.outputs.map((t) => encodeRaw(t.datatype, t.data)) : [],
  };
}

/** A `ModelInferResponse` as a JSON response; throws `TensorError` when it does not add up. */
export function responseFromProto(msg: ModelInferResponse__Output): InferResponse {
  const raw = msg.raw_output_contents;
  if (raw.length > 0 && raw.length !== msg.outputs.length)
    throw new TensorError(
      `raw_output_contents has ${raw.length} entries for ${msg.outputs.length} outputs.`,
      null,
    );
  const outputs = msg.outputs.map((t, i): InferTensor => {
    const params = fromProtoParams(t.parameters);
    const base =
      raw.length === 0
        ? fromContents(t, t.contents, "output")
        : {
            name: t.name,
            datatype: asDatatype(t.datatype, "output"),
            shape: t.shape,
            data: decodeRaw(asDatatype(t.datatype, "output"), t.shape, raw[i]!, `output '${t.name}'`),
          };
    return params ? { ...base, parameters: params } : base;
  });
  const out: InferResponse = { model_name: msg.model_name, outputs };
  if (msg.model_version) out.model_version = msg.model_version;
  if (msg.id) out.id = msg.id;
  const params = fromProtoParams(msg.parameters);
  if (params) out.parameters = params;
  return out;
}
