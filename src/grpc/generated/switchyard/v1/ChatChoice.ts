// Original file: proto/switchyard/v1/inference.proto

import type { ChatMessage as _switchyard_v1_ChatMessage, ChatMessage__Output as _switchyard_v1_ChatMessage__Output } from '../../switchyard/v1/ChatMessage.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface ChatChoice {
  'index'?: (number);
  'message'?: (_switchyard_v1_ChatMessage | null);
  /**
   * "stop", "length", "tool_calls", "content_filter"; empty when the upstream gave none.
   */
  'finish_reason'?: (string);
  'logprobs'?: (_google_protobuf_Struct | null);
  /**
   * Any other field of the choice (e.g. vLLM's `stop_reason`).
   */
  'extra'?: (_google_protobuf_Struct | null);
}

export interface ChatChoice__Output {
  'index'?: (number);
  'message'?: (_switchyard_v1_ChatMessage__Output);
  /**
   * "stop", "length", "tool_calls", "content_filter"; empty when the upstream gave none.
   */
  'finish_reason'?: (string);
  'logprobs'?: (_google_protobuf_Struct__Output);
  /**
   * Any other field of the choice (e.g. vLLM's `stop_reason`).
   */
  'extra'?: (_google_protobuf_Struct__Output);
}
