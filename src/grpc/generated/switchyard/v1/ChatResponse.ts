// Original file: proto/switchyard/v1/inference.proto

import type { ChatChoice as _switchyard_v1_ChatChoice, ChatChoice__Output as _switchyard_v1_ChatChoice__Output } from '../../switchyard/v1/ChatChoice.js';
import type { Usage as _switchyard_v1_Usage, Usage__Output as _switchyard_v1_Usage__Output } from '../../switchyard/v1/Usage.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Long } from '@grpc/proto-loader';

export interface ChatResponse {
  'id'?: (string);
  /**
   * "chat.completion".
   */
  'object'?: (string);
  /**
   * Unix seconds.
   */
  'created'?: (number | string | Long);
  'model'?: (string);
  'choices'?: (_switchyard_v1_ChatChoice)[];
  'usage'?: (_switchyard_v1_Usage | null);
  'system_fingerprint'?: (string);
  /**
   * Any other response field.
   */
  'extra'?: (_google_protobuf_Struct | null);
  '_system_fingerprint'?: "system_fingerprint";
}

export interface ChatResponse__Output {
  'id'?: (string);
  /**
   * "chat.completion".
   */
  'object'?: (string);
  /**
   * Unix seconds.
   */
  'created'?: (number);
  'model'?: (string);
  'choices'?: (_switchyard_v1_ChatChoice__Output)[];
  'usage'?: (_switchyard_v1_Usage__Output);
  'system_fingerprint'?: (string);
  /**
   * Any other response field.
   */
  'extra'?: (_google_protobuf_Struct__Output);
  '_system_fingerprint'?: "system_fingerprint";
}
