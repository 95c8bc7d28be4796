// Original file: proto/switchyard/v1/inference.proto

import type { ToolCall as _switchyard_v1_ToolCall, ToolCall__Output as _switchyard_v1_ToolCall__Output } from '../../switchyard/v1/ToolCall.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface ChatDelta {
  'role'?: (string);
  'content'?: (string);
  'tool_calls'?: (_switchyard_v1_ToolCall)[];
  'refusal'?: (string);
  'extra'?: (_google_protobuf_Struct | null);
  '_role'?: "role";
  '_content'?: "content";
  '_refusal'?: "refusal";
}

export interface ChatDelta__Output {
  'role'?: (string);
  'content'?: (string);
  'tool_calls'?: (_switchyard_v1_ToolCall__Output)[];
  'refusal'?: (string);
  'extra'?: (_google_protobuf_Struct__Output);
  '_role'?: "role";
  '_content'?: "content";
  '_refusal'?: "refusal";
}
