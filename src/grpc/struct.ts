/** JSON values ↔ `google.protobuf.Struct` / `Value` / `Timestamp`, in proto-loader's object form. */

import { GatewayError } from "../core/errors.js";
import { setOwn } from "../core/own.js";
import type { Struct, Struct__Output } from "./generated/google/protobuf/Struct.js";
import type { Timestamp, Timestamp__Output } from "./generated/google/protobuf/Timestamp.js";
import type { Value, Value__Output } from "./generated/google/protobuf/Value.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MAX_DEPTH = 64;

/** A client's Struct nested past MAX_DEPTH: a bad request (INVALID_ARGUMENT), not a server fault. */
function tooDeep(): Error {
  return new GatewayError("invalid_request", `A Struct nests deeper than ${MAX_DEPTH} levels.`);
}

/** An answer (an upstream's JSON, a pipeline's output) nested too deep to send as a Value. */
function answerTooDeep(): Error {
  return new GatewayError(
    "upstream_bad_response",
    `The answer nests deeper than ${MAX_DEPTH} levels and cannot be sent as a protobuf Value.`,
  );
}

/** A protobuf Value as the JSON value it stands for. */
export function fromValue(v: Value__Output | undefined, depth = 0): Json {
  if (!v) return null;
  if (depth > MAX_DEPTH) throw tooDeep();
  switch (v.kind) {
    case "numberValue":
      return v.numberValue ?? 0;
    case "stringValue":
      return v.stringValue ?? "";
    case "boolValue":
      return v.boolValue ?? false;
    case "structValue":
      return fromStruct(v.structValue, depth + 1);
    case "listValue":
      return (v.listValue?.values ?? []).map((x) => fromValue(x, depth + 1));
    default:
      return null;
  }
}

/** A protobuf Struct as a plain object (an absent Struct is an empty object). */
export function fromStruct(s: Struct__Output | undefined, depth = 0): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (!s?.fields) return out;
  if (depth > MAX_DEPTH) throw tooDeep();
  for (const [k, v] of Object.entries(s.fields)) setOwn(out, k, fromValue(v, depth + 1));
  return out;
}

/** A JSON value (as parsed from an upstream answer) as a protobuf Value. */
export function toValue(v: unknown, depth = 0): Value {
  if (depth > MAX_DEPTH) throw answerTooDeep();
  if (v === null || v === undefined) return { nullValue: "NULL_VALUE" };
  switch (typeof v) {
    case "number":
      return { numberValue: v };
    case "string":
      return { stringValue: v };
    case "boolean":
      return { boolValue: v };
    case "object":
      if (Array.isArray(v)) return { listValue: { values: v.map((x) => toValue(x, depth + 1)) } };
      return { structValue: toStruct(v as Record<string, unknown>, depth + 1) };
    default:
      return { nullValue: "NULL_VALUE" };
  }
}

export function toStruct(obj: Record<string, unknown>, depth = 0): Struct {
  const fields: Record<string, Value> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined) setOwn(fields, k, toValue(v, depth + 1));
  }
  return { fields };
}

/** The fields of `obj` not named in `known`, as a Struct; undefined when there are none. */
export function extraOf(obj: Record<string, unknown>, known: ReadonlySet<string>): Struct | undefined {
  let rest: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(obj)) {
    if (known.has(k) || v === undefined) continue;
    rest ??= {};
    setOwn(rest, k, v);
  }
  return rest ? toStruct(rest) : undefined;
}

/** Epoch milliseconds as a Timestamp (null stays unset). */
export function toTimestamp(ms: number | null | undefined): Timestamp | undefined {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return undefined;
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** A Timestamp as epoch seconds (what the job API takes), or undefined when unset. */
export function fromTimestamp(t: Timestamp__Output | undefined, param: string): number | undefined {
  if (!t) return undefined;
  const seconds = t.seconds ?? 0;
  const nanos = t.nanos ?? 0;
  // The ranges google.protobuf.Timestamp defines: 0001-01-01 to 9999-12-31, nanos below one second.
  if (!Number.isSafeInteger(seconds) || seconds < -62_135_596_800 || seconds > 253_402_300_799)
    throw new GatewayError("invalid_request", `'${param}' is outside 0001-01-01 to 9999-12-31.`, { param });
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999)
    throw new GatewayError("invalid_request", `'${param}.nanos' must be from 0 to 999999999.`, { param });
  return seconds + nanos / 1e9;
}
