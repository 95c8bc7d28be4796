// Original file: proto/switchyard/v1/pipelines.proto


export interface PipelineStepInfo {
  'name'?: (string);
  'model'?: (string);
  /**
   * chat, completion, embedding or infer.
   */
  'kind'?: (string);
  /**
   * Steps that finish before this one starts.
   */
  'needs'?: (string)[];
}

export interface PipelineStepInfo__Output {
  'name'?: (string);
  'model'?: (string);
  /**
   * chat, completion, embedding or infer.
   */
  'kind'?: (string);
  /**
   * Steps that finish before this one starts.
   */
  'needs'?: (string)[];
}
