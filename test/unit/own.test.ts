import assert from "node:assert/strict";
import { test } from "node:test";
import { fromProtoParams, toProtoParams } from "../../src/backends/kserve-codec.js";
import { setOwn } from "../../src/core/own.js";
import { extraOf, fromStruct, toStruct } from "../../src/grpc/struct.js";

// A key "__proto__" chosen by a client (a protobuf map key, a JSON field) stays an own field in
// every copy the gateway makes, as JSON.parse keeps it: it never becomes the copy's prototype.
const PROTO = "__proto__";

function assertOwnField(obj: object, value: unknown): void {
  assert.equal(Object.getPrototypeOf(obj), Object.prototype, "prototype unchanged");
  assert.ok(Object.hasOwn(obj, PROTO), "own field");
  assert.deepEqual(Object.getOwnPropertyDescriptor(obj, PROTO)?.value, value);
  assert.deepEqual(Object.keys(obj), [PROTO]);
}

test("setOwn writes __proto__ as an own, enumerable field and other keys as usual", () => {
  const o: Record<string, unknown> = {};
  setOwn(o, PROTO, { stream: true });
  setOwn(o, "model", "m");
  assert.equal((o as { stream?: unknown }).stream, undefined, "nothing inherited");
  assert.deepEqual(Object.keys(o), [PROTO, "model"]);
  assert.equal(JSON.stringify(o), '{"__proto__":{"stream":true},"model":"m"}');
});

test("a Struct field named __proto__ comes out of fromStruct as an own field", () => {
  const fields: Record<string, unknown> = {};
  // protobufjs decodes a map key "__proto__" as an own property (util.makeProp): the same here.
  Object.defineProperty(fields, PROTO, {
    value: {
      kind: "structValue",
      structValue: { fields: { max_tokens: { kind: "numberValue", numberValue: 1 } } },
    },
    enumerable: true,
  });
  const out = fromStruct({ fields } as never);
  assertOwnField(out, { max_tokens: 1 });
  assert.equal((out as { max_tokens?: unknown }).max_tokens, undefined);
});

test("toStruct and extraOf keep a __proto__ field of an answer", () => {
  const answer = JSON.parse('{"__proto__": {"a": 1}, "id": "x"}') as Record<string, unknown>;
  const s = toStruct(answer);
  assert.ok(Object.hasOwn(s.fields as object, PROTO));
  const extra = extraOf(answer, new Set(["id"]));
  assert.ok(extra && Object.hasOwn(extra.fields as object, PROTO));
});

test("KServe parameters named __proto__ survive both conversions as own fields", () => {
  const params = JSON.parse('{"__proto__": "p"}') as Record<string, string>;
  const proto = toProtoParams(params) as object;
  assertOwnField(proto, { string_param: "p" });
  // As decoded from a KServe backend's answer (protobufjs names the oneof member it set).
  const decoded = {};
  Object.defineProperty(decoded, PROTO, {
    value: { string_param: "p", parameter_choice: "string_param" },
    enumerable: true,
  });
  const back = fromProtoParams(decoded as never) as object;
  assertOwnField(back, "p");
});
