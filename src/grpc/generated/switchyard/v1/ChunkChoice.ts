// Original file: proto/switchyard/v1/inference.proto

import type { ChatDelta as _switchyard_v1_ChatDelta, ChatDelta__Output as _switchyard_v1_ChatDelta__Output } from '../../switchyard/v1/ChatDelta.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface ChunkChoice {
  'index'?: (number);
  'delta'?: (_switchyard_v1_ChatDelta | null);
  /**
   * Empty until the choice's last chunk.
   */
  'finish_reason'?: (string);
  'logprobs'?: (_google_protobuf_Struct | null);
  /**
   * Any other field of the choice (e.g. vLLM's `stop_reason`).
   */
  'extra'?: (_google_protobuf_Struct | null);
}

export interface ChunkChoice__Output {
  'index'?: (number);
  'delta'?: (_switchyard_v1_ChatDelta__Output);
  /**
   * Empty until the choice's last chunk.
   */
  'finish_reason'?: (string);
  'logprobs'?: (_google_protobuf_Struct__Output);
  /**
   * Any other field of the choice (e.g. vLLM's `stop_reason`).
   */
  'extra'?: (_google_protobuf_Struct__Output);
}
