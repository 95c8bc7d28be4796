// Original file: proto/switchyard/v1/pipelines.proto

import type { StepReport as _switchyard_v1_StepReport, StepReport__Output as _switchyard_v1_StepReport__Output } from '../../switchyard/v1/StepReport.js';

export interface StepFinished {
  'step'?: (string);
  'report'?: (_switchyard_v1_StepReport | null);
}

export interface StepFinished__Output {
  'step'?: (string);
  'report'?: (_switchyard_v1_StepReport__Output);
}
