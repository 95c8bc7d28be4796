// Original file: proto/kserve/grpc_predict_v2.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A parameter value of a request, a response or a tensor.
 */
export interface InferParameter {
  'bool_param'?: (boolean);
  'int64_param'?: (number | string | Long);
  'string_param'?: (string);
  'double_param'?: (number | string);
  'uint64_param'?: (number | string | Long);
  'parameter_choice'?: "bool_param"|"int64_param"|"string_param"|"double_param"|"uint64_param";
}

/**
 * A parameter value of a request, a response or a tensor.
 */
export interface InferParameter__Output {
  'bool_param'?: (boolean);
  'int64_param'?: (number);
  'string_param'?: (string);
  'double_param'?: (number);
  'uint64_param'?: (number);
  'parameter_choice'?: "bool_param"|"int64_param"|"string_param"|"double_param"|"uint64_param";
}
