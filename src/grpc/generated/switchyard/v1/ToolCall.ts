// Original file: proto/switchyard/v1/inference.proto

import type { FunctionCall as _switchyard_v1_FunctionCall, FunctionCall__Output as _switchyard_v1_FunctionCall__Output } from '../../switchyard/v1/FunctionCall.js';

export interface ToolCall {
  /**
   * Position of the call in a streamed delta.
   */
  'index'?: (number);
  'id'?: (string);
  /**
   * "function".
   */
  'type'?: (string);
  'function'?: (_switchyard_v1_FunctionCall | null);
  '_index'?: "index";
}

export interface ToolCall__Output {
  /**
   * Position of the call in a streamed delta.
   */
  'index'?: (number);
  'id'?: (string);
  /**
   * "function".
   */
  'type'?: (string);
  'function'?: (_switchyard_v1_FunctionCall__Output);
  '_index'?: "index";
}
