// Original file: proto/switchyard/v1/inference.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface Usage {
  'prompt_tokens'?: (number);
  'completion_tokens'?: (number);
  'total_tokens'?: (number);
  /**
   * prompt_tokens_details, completion_tokens_details and the like.
   */
  'extra'?: (_google_protobuf_Struct | null);
}

export interface Usage__Output {
  'prompt_tokens'?: (number);
  'completion_tokens'?: (number);
  'total_tokens'?: (number);
  /**
   * prompt_tokens_details, completion_tokens_details and the like.
   */
  'extra'?: (_google_protobuf_Struct__Output);
}
