// Original file: proto/switchyard/v1/inference.proto

import type { ChatMessage as _switchyard_v1_ChatMessage, ChatMessage__Output as _switchyard_v1_ChatMessage__Output } from '../../switchyard/v1/ChatMessage.js';
import type { Tool as _switchyard_v1_Tool, Tool__Output as _switchyard_v1_Tool__Output } from '../../switchyard/v1/Tool.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from '../../google/protobuf/Value.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Long } from '@grpc/proto-loader';

export interface ChatRequest {
  /**
   * The public model name (as listed by `GET /v1/models`).
   */
  'model'?: (string);
  'messages'?: (_switchyard_v1_ChatMessage)[];
  'max_tokens'?: (number);
  'max_completion_tokens'?: (number);
  'temperature'?: (number | string);
  'top_p'?: (number | string);
  /**
   * Up to 16 stop sequences.
   */
  'stop'?: (string)[];
  'n'?: (number);
  'seed'?: (number | string | Long);
  'user'?: (string);
  'presence_penalty'?: (number | string);
  'frequency_penalty'?: (number | string);
  /**
   * Token id (as a decimal string) → bias from -100 to 100.
   */
  'logit_bias'?: ({[key: string]: number | string});
  'logprobs'?: (boolean);
  'top_logprobs'?: (number);
  'tools'?: (_switchyard_v1_Tool)[];
  /**
   * "none", "auto", "required", or {"type": "function", "function": {"name": …}}.
   */
  'tool_choice'?: (_google_protobuf_Value | null);
  'parallel_tool_calls'?: (boolean);
  /**
   * {"type": "text" | "json_object" | "json_schema", "json_schema": {…}}.
   */
  'response_format'?: (_google_protobuf_Struct | null);
  /**
   * Any other request field, merged into the request as top-level fields.
   */
  'extra'?: (_google_protobuf_Struct | null);
  '_max_tokens'?: "max_tokens";
  '_max_completion_tokens'?: "max_completion_tokens";
  '_temperature'?: "temperature";
  '_top_p'?: "top_p";
  '_n'?: "n";
  '_seed'?: "seed";
  '_user'?: "user";
  '_presence_penalty'?: "presence_penalty";
  '_frequency_penalty'?: "frequency_penalty";
  '_logprobs'?: "logprobs";
  '_top_logprobs'?: "top_logprobs";
  '_parallel_tool_calls'?: "parallel_tool_calls";
}

export interface ChatRequest__Output {
  /**
   * The public model name (as listed by `GET /v1/models`).
   */
  'model'?: (string);
  'messages'?: (_switchyard_v1_ChatMessage__Output)[];
  'max_tokens'?: (number);
  'max_completion_tokens'?: (number);
  'temperature'?: (number);
  'top_p'?: (number);
  /**
   * Up to 16 stop sequences.
   */
  'stop'?: (string)[];
  'n'?: (number);
  'seed'?: (number);
  'user'?: (string);
  'presence_penalty'?: (number);
  'frequency_penalty'?: (number);
  /**
   * Token id (as a decimal string) → bias from -100 to 100.
   */
  'logit_bias'?: ({[key: string]: number});
  'logprobs'?: (boolean);
  'top_logprobs'?: (number);
  'tools'?: (_switchyard_v1_Tool__Output)[];
  /**
   * "none", "auto", "required", or {"type": "function", "function": {"name": …}}.
   */
  'tool_choice'?: (_google_protobuf_Value__Output);
  'parallel_tool_calls'?: (boolean);
  /**
   * {"type": "text" | "json_object" | "json_schema", "json_schema": {…}}.
   */
  'response_format'?: (_google_protobuf_Struct__Output);
  /**
   * Any other request field, merged into the request as top-level fields.
   */
  'extra'?: (_google_protobuf_Struct__Output);
  '_max_tokens'?: "max_tokens";
  '_max_completion_tokens'?: "max_completion_tokens";
  '_temperature'?: "temperature";
  '_top_p'?: "top_p";
  '_n'?: "n";
  '_seed'?: "seed";
  '_user'?: "user";
  '_presence_penalty'?: "presence_penalty";
  '_frequency_penalty'?: "frequency_penalty";
  '_logprobs'?: "logprobs";
  '_top_logprobs'?: "top_logprobs";
  '_parallel_tool_calls'?: "parallel_tool_calls";
}
