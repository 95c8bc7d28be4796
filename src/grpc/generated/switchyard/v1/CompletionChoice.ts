// Original file: proto/switchyard/v1/inference.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface CompletionChoice {
  'index'?: (number);
  'text'?: (string);
  'finish_reason'?: (string);
  'logprobs'?: (_google_protobuf_Struct | null);
  /**
   * Any other field of the choice (e.g. vLLM's `stop_reason`).
   */
  'extra'?: (_google_protobuf_Struct | null);
}

export interface CompletionChoice__Output {
  'index'?: (number);
  'text'?: (string);
  'finish_reason'?: (string);
  'logprobs'?: (_google_protobuf_Struct__Output);
  /**
   * Any other field of the choice (e.g. vLLM's `stop_reason`).
   */
  'extra'?: (_google_protobuf_Struct__Output);
}
