// Original file: proto/switchyard/v1/pipelines.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface RunPipelineRequest {
  'name'?: (string);
  /**
   * The pipeline's inputs (checked against its declared types: INVALID_ARGUMENT names the field).
   */
  'input'?: (_google_protobuf_Struct | null);
  /**
   * Include every step's output, timing and tokens.
   */
  'debug'?: (boolean);
}

export interface RunPipelineRequest__Output {
  'name'?: (string);
  /**
   * The pipeline's inputs (checked against its declared types: INVALID_ARGUMENT names the field).
   */
  'input'?: (_google_protobuf_Struct__Output);
  /**
   * Include every step's output, timing and tokens.
   */
  'debug'?: (boolean);
}
