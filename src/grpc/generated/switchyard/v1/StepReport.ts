// Original file: proto/switchyard/v1/pipelines.proto

import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from '../../google/protobuf/Value.js';
import type { Usage as _switchyard_v1_Usage, Usage__Output as _switchyard_v1_Usage__Output } from '../../switchyard/v1/Usage.js';
import type { StepError as _switchyard_v1_StepError, StepError__Output as _switchyard_v1_StepError__Output } from '../../switchyard/v1/StepError.js';

export interface StepReport {
  /**
   * succeeded, skipped, defaulted or failed.
   */
  'status'?: (string);
  'model'?: (string);
  /**
   * The step's output; set only with `debug`.
   */
  'output'?: (_google_protobuf_Value | null);
  'usage'?: (_switchyard_v1_Usage | null);
  'started_ms'?: (number | string);
  'duration_ms'?: (number | string);
  /**
   * For map steps: how many items ran.
   */
  'items'?: (number);
  'error'?: (_switchyard_v1_StepError | null);
}

export interface StepReport__Output {
  /**
   * succeeded, skipped, defaulted or failed.
   */
  'status'?: (string);
  'model'?: (string);
  /**
   * The step's output; set only with `debug`.
   */
  'output'?: (_google_protobuf_Value__Output);
  'usage'?: (_switchyard_v1_Usage__Output);
  'started_ms'?: (number);
  'duration_ms'?: (number);
  /**
   * For map steps: how many items ran.
   */
  'items'?: (number);
  'error'?: (_switchyard_v1_StepError__Output);
}
