// Original file: proto/switchyard/v1/pipelines.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { PipelineStepInfo as _switchyard_v1_PipelineStepInfo, PipelineStepInfo__Output as _switchyard_v1_PipelineStepInfo__Output } from '../../switchyard/v1/PipelineStepInfo.js';

export interface PipelineInfo {
  'name'?: (string);
  'description'?: (string);
  /**
   * Input name → {type, required, default, description, max_length, items}, as `GET /v1/pipelines`.
   */
  'inputs'?: (_google_protobuf_Struct | null);
  'steps'?: (_switchyard_v1_PipelineStepInfo)[];
  /**
   * Steps whose tokens RunStream sends.
   */
  'stream_steps'?: (string)[];
  'timeout_ms'?: (number);
}

export interface PipelineInfo__Output {
  'name'?: (string);
  'description'?: (string);
  /**
   * Input name → {type, required, default, description, max_length, items}, as `GET /v1/pipelines`.
   */
  'inputs'?: (_google_protobuf_Struct__Output);
  'steps'?: (_switchyard_v1_PipelineStepInfo__Output)[];
  /**
   * Steps whose tokens RunStream sends.
   */
  'stream_steps'?: (string)[];
  'timeout_ms'?: (number);
}
