// Original file: proto/switchyard/v1/inference.proto

import type { CompletionChoice as _switchyard_v1_CompletionChoice, CompletionChoice__Output as _switchyard_v1_CompletionChoice__Output } from '../../switchyard/v1/CompletionChoice.js';
import type { Usage as _switchyard_v1_Usage, Usage__Output as _switchyard_v1_Usage__Output } from '../../switchyard/v1/Usage.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Long } from '@grpc/proto-loader';

export interface CompletionResponse {
  'id'?: (string);
  /**
   * "text_completion".
   */
  'object'?: (string);
  'created'?: (number | string | Long);
  'model'?: (string);
  'choices'?: (_switchyard_v1_CompletionChoice)[];
  'usage'?: (_switchyard_v1_Usage | null);
  'system_fingerprint'?: (string);
  'extra'?: (_google_protobuf_Struct | null);
  '_system_fingerprint'?: "system_fingerprint";
}

export interface CompletionResponse__Output {
  'id'?: (string);
  /**
   * "text_completion".
   */
  'object'?: (string);
  'created'?: (number);
  'model'?: (string);
  'choices'?: (_switchyard_v1_CompletionChoice__Output)[];
  'usage'?: (_switchyard_v1_Usage__Output);
  'system_fingerprint'?: (string);
  'extra'?: (_google_protobuf_Struct__Output);
  '_system_fingerprint'?: "system_fingerprint";
}
