// Original file: proto/switchyard/v1/pipelines.proto


export interface StepStarted {
  'step'?: (string);
  'model'?: (string);
}

export interface StepStarted__Output {
  'step'?: (string);
  'model'?: (string);
}
