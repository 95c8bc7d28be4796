// Original file: proto/switchyard/v1/pipelines.proto

import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from '../../google/protobuf/Value.js';
import type { Usage as _switchyard_v1_Usage, Usage__Output as _switchyard_v1_Usage__Output } from '../../switchyard/v1/Usage.js';
import type { StepReport as _switchyard_v1_StepReport, StepReport__Output as _switchyard_v1_StepReport__Output } from '../../switchyard/v1/StepReport.js';

export interface PipelineRun {
  'id'?: (string);
  'pipeline'?: (string);
  /**
   * The pipeline's output (any JSON value).
   */
  'output'?: (_google_protobuf_Value | null);
  /**
   * Tokens of every step together.
   */
  'usage'?: (_switchyard_v1_Usage | null);
  'duration_ms'?: (number | string);
  /**
   * With `debug`: step name → report.
   */
  'steps'?: ({[key: string]: _switchyard_v1_StepReport});
}

export interface PipelineRun__Output {
  'id'?: (string);
  'pipeline'?: (string);
  /**
   * The pipeline's output (any JSON value).
   */
  'output'?: (_google_protobuf_Value__Output);
  /**
   * Tokens of every step together.
   */
  'usage'?: (_switchyard_v1_Usage__Output);
  'duration_ms'?: (number);
  /**
   * With `debug`: step name → report.
   */
  'steps'?: ({[key: string]: _switchyard_v1_StepReport__Output});
}
