// Original file: proto/switchyard/v1/pipelines.proto

import type { StepStarted as _switchyard_v1_StepStarted, StepStarted__Output as _switchyard_v1_StepStarted__Output } from '../../switchyard/v1/StepStarted.js';
import type { StepFinished as _switchyard_v1_StepFinished, StepFinished__Output as _switchyard_v1_StepFinished__Output } from '../../switchyard/v1/StepFinished.js';
import type { PipelineToken as _switchyard_v1_PipelineToken, PipelineToken__Output as _switchyard_v1_PipelineToken__Output } from '../../switchyard/v1/PipelineToken.js';
import type { PipelineRun as _switchyard_v1_PipelineRun, PipelineRun__Output as _switchyard_v1_PipelineRun__Output } from '../../switchyard/v1/PipelineRun.js';

export interface PipelineEvent {
  'step_started'?: (_switchyard_v1_StepStarted | null);
  'step_finished'?: (_switchyard_v1_StepFinished | null);
  'token'?: (_switchyard_v1_PipelineToken | null);
  /**
   * The last message of a successful run.
   */
  'result'?: (_switchyard_v1_PipelineRun | null);
  'event'?: "step_started"|"step_finished"|"token"|"result";
}

export interface PipelineEvent__Output {
  'step_started'?: (_switchyard_v1_StepStarted__Output);
  'step_finished'?: (_switchyard_v1_StepFinished__Output);
  'token'?: (_switchyard_v1_PipelineToken__Output);
  /**
   * The last message of a successful run.
   */
  'result'?: (_switchyard_v1_PipelineRun__Output);
  'event'?: "step_started"|"step_finished"|"token"|"result";
}
