// Original file: proto/switchyard/v1/inference.proto

import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface FunctionDefinition {
  'name'?: (string);
  'description'?: (string);
  /**
   * A JSON Schema object.
   */
  'parameters'?: (_google_protobuf_Struct | null);
  'strict'?: (boolean);
  '_description'?: "description";
  '_strict'?: "strict";
}

export interface FunctionDefinition__Output {
  'name'?: (string);
  'description'?: (string);
  /**
   * A JSON Schema object.
   */
  'parameters'?: (_google_protobuf_Struct__Output);
  'strict'?: (boolean);
  '_description'?: "description";
  '_strict'?: "strict";
}
