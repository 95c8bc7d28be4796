// Original file: proto/switchyard/v1/pipelines.proto

import type { PipelineInfo as _switchyard_v1_PipelineInfo, PipelineInfo__Output as _switchyard_v1_PipelineInfo__Output } from '../../switchyard/v1/PipelineInfo.js';

export interface ListPipelinesResponse {
  'pipelines'?: (_switchyard_v1_PipelineInfo)[];
}

export interface ListPipelinesResponse__Output {
  'pipelines'?: (_switchyard_v1_PipelineInfo__Output)[];
}
