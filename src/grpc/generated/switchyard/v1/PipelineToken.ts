// Original file: proto/switchyard/v1/pipelines.proto


export interface PipelineToken {
  'step'?: (string);
  'text'?: (string);
}

export interface PipelineToken__Output {
  'step'?: (string);
  'text'?: (string);
}
