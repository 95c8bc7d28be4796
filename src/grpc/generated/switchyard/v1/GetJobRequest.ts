// Original file: proto/switchyard/v1/jobs.proto


export interface GetJobRequest {
  'id'?: (string);
}

export interface GetJobRequest__Output {
  'id'?: (string);
}
