// Original file: proto/switchyard/v1/inference.proto

import type { Embedding as _switchyard_v1_Embedding, Embedding__Output as _switchyard_v1_Embedding__Output } from '../../switchyard/v1/Embedding.js';
import type { Usage as _switchyard_v1_Usage, Usage__Output as _switchyard_v1_Usage__Output } from '../../switchyard/v1/Usage.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface EmbedResponse {
  /**
   * "list".
   */
  'object'?: (string);
  'model'?: (string);
  'data'?: (_switchyard_v1_Embedding)[];
  'usage'?: (_switchyard_v1_Usage | null);
  'extra'?: (_google_protobuf_Struct | null);
}

export interface EmbedResponse__Output {
  /**
   * "list".
   */
  'object'?: (string);
  'model'?: (string);
  'data'?: (_switchyard_v1_Embedding__Output)[];
  'usage'?: (_switchyard_v1_Usage__Output);
  'extra'?: (_google_protobuf_Struct__Output);
}
