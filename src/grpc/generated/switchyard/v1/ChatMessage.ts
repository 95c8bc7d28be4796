// Original file: proto/switchyard/v1/inference.proto

import type { ContentParts as _switchyard_v1_ContentParts, ContentParts__Output as _switchyard_v1_ContentParts__Output } from '../../switchyard/v1/ContentParts.js';
import type { ToolCall as _switchyard_v1_ToolCall, ToolCall__Output as _switchyard_v1_ToolCall__Output } from '../../switchyard/v1/ToolCall.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface ChatMessage {
  /**
   * system, developer, user, assistant, tool or function.
   */
  'role'?: (string);
  'content'?: (string);
  'parts'?: (_switchyard_v1_ContentParts | null);
  'name'?: (string);
  /**
   * Tool calls of an assistant message.
   */
  'tool_calls'?: (_switchyard_v1_ToolCall)[];
  /**
   * On a `tool` message: the id of the call this message answers.
   */
  'tool_call_id'?: (string);
  'refusal'?: (string);
  /**
   * Any other message field (e.g. `reasoning_content`).
   */
  'extra'?: (_google_protobuf_Struct | null);
  /**
   * The content: plain text, or a list of parts (text, image_url, …). Neither = null content.
   */
  'content_kind'?: "content"|"parts";
  '_name'?: "name";
  '_tool_call_id'?: "tool_call_id";
  '_refusal'?: "refusal";
}

export interface ChatMessage__Output {
  /**
   * system, developer, user, assistant, tool or function.
   */
  'role'?: (string);
  'content'?: (string);
  'parts'?: (_switchyard_v1_ContentParts__Output);
  'name'?: (string);
  /**
   * Tool calls of an assistant message.
   */
  'tool_calls'?: (_switchyard_v1_ToolCall__Output)[];
  /**
   * On a `tool` message: the id of the call this message answers.
   */
  'tool_call_id'?: (string);
  'refusal'?: (string);
  /**
   * Any other message field (e.g. `reasoning_content`).
   */
  'extra'?: (_google_protobuf_Struct__Output);
  /**
   * The content: plain text, or a list of parts (text, image_url, …). Neither = null content.
   */
  'content_kind'?: "content"|"parts";
  '_name'?: "name";
  '_tool_call_id'?: "tool_call_id";
  '_refusal'?: "refusal";
}
