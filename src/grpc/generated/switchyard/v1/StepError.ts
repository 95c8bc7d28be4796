// Original file: proto/switchyard/v1/pipelines.proto


export interface StepError {
  'code'?: (string);
  'message'?: (string);
}

export interface StepError__Output {
  'code'?: (string);
  'message'?: (string);
}
