// Original file: proto/kserve/grpc_predict_v2.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The data of a tensor in typed form: exactly one field is set, matching the tensor's data type,
 * with the elements flattened in row-major order. FP16 and BF16 data is only sent in raw form.
 */
export interface InferTensorContents {
  /**
   * BOOL.
   */
  'bool_contents'?: (boolean)[];
  /**
   * INT8, INT16 and INT32 (each element in its own 32-bit value).
   */
  'int_contents'?: (number)[];
  /**
   * INT64.
   */
  'int64_contents'?: (number | string | Long)[];
  /**
   * UINT8, UINT16 and UINT32 (each element in its own 32-bit value).
   */
  'uint_contents'?: (number)[];
  /**
   * UINT64.
   */
  'uint64_contents'?: (number | string | Long)[];
  /**
   * FP32.
   */
  'fp32_contents'?: (number | string)[];
  /**
   * FP64.
   */
  'fp64_contents'?: (number | string)[];
  /**
   * BYTES: one entry per element.
   */
  'bytes_contents'?: (Buffer | Uint8Array | string)[];
}

/**
 * The data of a tensor in typed form: exactly one field is set, matching the tensor's data type,
 * with the elements flattened in row-major order. FP16 and BF16 data is only sent in raw form.
 */
export interface InferTensorContents__Output {
  /**
   * BOOL.
   */
  'bool_contents': (boolean)[];
  /**
   * INT8, INT16 and INT32 (each element in its own 32-bit value).
   */
  'int_contents': (number)[];
  /**
   * INT64.
   */
  'int64_contents': (number)[];
  /**
   * UINT8, UINT16 and UINT32 (each element in its own 32-bit value).
   */
  'uint_contents': (number)[];
  /**
   * UINT64.
   */
  'uint64_contents': (number)[];
  /**
   * FP32.
   */
  'fp32_contents': (number)[];
  /**
   * FP64.
   */
  'fp64_contents': (number)[];
  /**
   * BYTES: one entry per element.
   */
  'bytes_contents': (Buffer)[];
}
