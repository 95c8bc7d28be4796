// Original file: proto/switchyard/v1/inference.proto

import type { TokenIds as _switchyard_v1_TokenIds, TokenIds__Output as _switchyard_v1_TokenIds__Output } from '../../switchyard/v1/TokenIds.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface EmbedRequest {
  'model'?: (string);
  /**
   * The inputs: texts, or token ids. Set exactly one of `input` and `input_token_ids`; a single
   * text is sent upstream as a plain string.
   */
  'input'?: (string)[];
  'input_token_ids'?: (_switchyard_v1_TokenIds)[];
  'dimensions'?: (number);
  'user'?: (string);
  'extra'?: (_google_protobuf_Struct | null);
  '_dimensions'?: "dimensions";
  '_user'?: "user";
}

export interface EmbedRequest__Output {
  'model'?: (string);
  /**
   * The inputs: texts, or token ids. Set exactly one of `input` and `input_token_ids`; a single
   * text is sent upstream as a plain string.
   */
  'input'?: (string)[];
  'input_token_ids'?: (_switchyard_v1_TokenIds__Output)[];
  'dimensions'?: (number);
  'user'?: (string);
  'extra'?: (_google_protobuf_Struct__Output);
  '_dimensions'?: "dimensions";
  '_user'?: "user";
}
