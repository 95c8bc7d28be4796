import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  decodeRaw,
  encodeRaw,
  fromHalf,
  requestFromProto,
  requestToProto,
  responseFromProto,
  responseToProto,
  toHalf,
} from "../../src/backends/kserve-codec.js";
import {
  concatBatch,
  type InferRequest,
  type InferTensor,
  parseInferRequest,
  splitBatch,
  TensorError,
} from "../../src/backends/kserve-tensors.js";
import type { ModelInferRequest__Output } from "../../src/grpc/generated/kserve/inference/ModelInferRequest.js";
import type { ModelInferResponse__Output } from "../../src/grpc/generated/kserve/inference/ModelInferResponse.js";

const tensors: InferTensor[] = [
  { name: "b", datatype: "BOOL", shape: [3], data: [true, false, true] },
  { name: "u8", datatype: "UINT8", shape: [2], data: [0, 255] },
  { name: "i8", datatype: "INT8", shape: [2], data: [-128, 127] },
  { name: "u16", datatype: "UINT16", shape: [1], data: [65_535] },
  { name: "i16", datatype: "INT16", shape: [1], data: [-32_768] },
  { name: "u32", datatype: "UINT32", shape: [1], data: [4_294_967_295] },
  { name: "i32", datatype: "INT32", shape: [2], data: [-2_147_483_648, 7] },
  { name: "u64", datatype: "UINT64", shape: [1], data: [2 ** 40 + 3] },
  { name: "i64", datatype: "INT64", shape: [2], data: [-(2 ** 40), 5] },
  { name: "f32", datatype: "FP32", shape: [2, 2], data: [0.5, -1.25, 3, Math.fround(0.1)] },
  { name: "f64", datatype: "FP64", shape: [1], data: [0.1] },
  { name: "s", datatype: "BYTES", shape: [3], data: ["a", "", "héllo"] },
];

/** A message as a gRPC peer decodes it (proto-loader's output form: every field present). */
function asReceivedRequest(msg: ReturnType<typeof requestToProto>): ModelInferRequest__Output {
  return {
    model_name: msg.model_name ?? "",
    model_version: msg.model_version ?? "",
    id: msg.id ?? "",
    parameters: {},
    inputs: (msg.inputs ?? []).map((t) => ({
      name: t.name ?? "",
      datatype: t.datatype ?? "",
      shape: (t.shape ?? []).map(Number),
      parameters: {},
      contents: t.contents
        ? {
            bool_contents: [],
            int_contents: [],
            int64_contents: [],
            uint_contents: [],
            uint64_contents: [],
            fp32_contents: [],
            fp64_contents: [],
            bytes_contents: [],
            ...(t.contents as Record<string, unknown[]>),
          }
        : null,
    })) as ModelInferRequest__Output["inputs"],
    outputs: [],
    raw_input_contents: (msg.raw_input_contents ?? []) as Buffer[],
  };
}

describe("KServe tensor codec", () => {
  test("raw form round-trips every data type", () => {
    for (const t of tensors) {
      const back = decodeRaw(t.datatype, t.shape, encodeRaw(t.datatype, t.data), t.name);
      assert.deepEqual(back, t.data, t.datatype);
    }
  });

  test("raw layout is little-endian with 4-byte length prefixes for BYTES", () => {
    assert.deepEqual([...encodeRaw("INT32", [1, -1])], [1, 0, 0, 0, 255, 255, 255, 255]);
    assert.deepEqual([...encodeRaw("BYTES", ["ab"])], [2, 0, 0, 0, 97, 98]);
    assert.deepEqual([...encodeRaw("FP16", [1])], [0x00, 0x3c]);
    assert.throws(() => decodeRaw("FP32", [3], Buffer.alloc(8), "x"), TensorError);
    assert.throws(() => decodeRaw("BYTES", [2], Buffer.from([1, 0, 0, 0, 97]), "x"), TensorError);
  });

  test("half precision converts exactly where it can and rounds elsewhere", () => {
    for (const v of [0, 1, -2, 0.5, 65_504, 2 ** -14, 2 ** -24]) assert.equal(fromHalf(toHalf(v)), v);
    assert.equal(fromHalf(toHalf(0.1)), 0.0999755859375);
    assert.equal(fromHalf(toHalf(1e6)), Number.POSITIVE_INFINITY);
  });

  test("a request survives typed and raw protobuf form", () => {
    const req: InferRequest = { id: "r1", parameters: { k: 3, flag: true, s: "x" }, inputs: tensors };
    for (const raw of [false, true]) {
      const msg = requestToProto(req, "m", "2", raw);
      assert.equal(msg.model_name, "m");
      assert.equal(msg.model_version, "2");
      assert.equal((msg.raw_input_contents ?? []).length, raw ? tensors.length : 0);
      const back = requestFromProto({ ...asReceivedRequest(msg), parameters: msg.parameters as never });
      assert.equal(back.id, "r1");
      assert.deepEqual(
        back.inputs.map((t) => [t.name, t.datatype, t.shape, t.data]),
        tensors.map((t) => [t.name, t.datatype, t.shape, t.data]),
      );
    }
  });

  test("FP16 inputs force raw form even when typed is asked for", () => {
    const msg = requestToProto(
      { inputs: [{ name: "h", datatype: "FP16", shape: [1], data: [1.5] }] },
      "m",
      undefined,
      false,
    );
    assert.equal(msg.raw_input_contents?.length, 1);
    assert.equal(msg.inputs?.[0]?.contents, null);
  });

  test("a response in raw form decodes to JSON tensors; a short raw buffer is refused", () => {
    const res = {
      model_name: "m",
      outputs: [{ name: "o", datatype: "FP32" as const, shape: [2], data: [1.5, -2] }],
    };
    const msg = responseToProto(res, true);
    const received = {
      model_name: "m",
      model_version: "",
      id: "",
      parameters: {},
      outputs: (msg.outputs ?? []).map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: {},
        contents: null,
      })),
      raw_output_contents: msg.raw_output_contents as Buffer[],
    } as ModelInferResponse__Output;
    assert.deepEqual(responseFromProto(received).outputs[0]?.data, [1.5, -2]);
    assert.throws(
      () => responseFromProto({ ...received, raw_output_contents: [Buffer.alloc(4)] }),
      TensorError,
    );
  });
});

describe("KServe request validation", () => {
  const ok = {
    inputs: [
      {
        name: "x",
        datatype: "FP32",
        shape: [2, 2],
        data: [
          [1, 2],
          [3, 4],
        ],
      },
    ],
  };

  test("nested data is flattened in row-major order", () => {
    assert.deepEqual(parseInferRequest(ok).inputs[0]?.data, [1, 2, 3, 4]);
  });

  const bad: Array<[string, unknown, string | null, RegExp]> = [
    ["not an object", [], null, /JSON object/],
    ["no inputs", { inputs: [] }, "inputs", /at least one input/],
    [
      "missing datatype",
      { inputs: [{ name: "x", shape: [1], data: [1] }] },
      "inputs[0].datatype",
      /Invalid value/,
    ],
    [
      "unknown datatype",
      { inputs: [{ name: "x", datatype: "FP8", shape: [1], data: [1] }] },
      "inputs[0].datatype",
      /Invalid/,
    ],
    [
      "negative dimension",
      { inputs: [{ name: "x", datatype: "FP32", shape: [-1], data: [] }] },
      "inputs[0].shape[0]",
      /Invalid/,
    ],
    [
      "count mismatch",
      { inputs: [{ name: "x", datatype: "FP32", shape: [3], data: [1, 2] }] },
      "inputs[0].data",
      /needs 3 elements, got 2/,
    ],
    [
      "out of range",
      { inputs: [{ name: "x", datatype: "UINT8", shape: [1], data: [256] }] },
      "inputs[0].data[0]",
      /0 to 255/,
    ],
    [
      "wrong element type",
      { inputs: [{ name: "x", datatype: "BYTES", shape: [1], data: [1] }] },
      "inputs[0].data[0]",
      /a string/,
    ],
    ["duplicate input", { inputs: [ok.inputs[0], ok.inputs[0]] }, "inputs[1].name", /twice/],
  ];
  for (const [what, body, param, msg] of bad) {
    test(`refuses ${what}, naming the field`, () => {
      assert.throws(
        () => parseInferRequest(body),
        (err: unknown) => err instanceof TensorError && err.param === param && msg.test(err.message),
      );
    });
  }
});

describe("batch dimension", () => {
  test("concatBatch joins along the first dimension and splitBatch undoes it", () => {
    const a: InferTensor = { name: "x", datatype: "FP32", shape: [1, 2], data: [1, 2] };
    const b: InferTensor = { name: "x", datatype: "FP32", shape: [2, 2], data: [3, 4, 5, 6] };
    const joined = concatBatch([a, b]);
    assert.deepEqual(joined.shape, [3, 2]);
    assert.deepEqual(joined.data, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(splitBatch(joined, [1, 2]), [a, b]);
    assert.throws(() => concatBatch([a, { ...b, shape: [1, 4] }]), TensorError);
    assert.throws(() => splitBatch(joined, [1, 1]), TensorError);
  });
});
