// Original file: proto/switchyard/v1/jobs.proto


export interface WatchJobRequest {
  'id'?: (string);
}

export interface WatchJobRequest__Output {
  'id'?: (string);
}
