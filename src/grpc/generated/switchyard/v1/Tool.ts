// Original file: proto/switchyard/v1/inference.proto

import type { FunctionDefinition as _switchyard_v1_FunctionDefinition, FunctionDefinition__Output as _switchyard_v1_FunctionDefinition__Output } from '../../switchyard/v1/FunctionDefinition.js';

export interface Tool {
  /**
   * "function".
   */
  'type'?: (string);
  'function'?: (_switchyard_v1_FunctionDefinition | null);
}

export interface Tool__Output {
  /**
   * "function".
   */
  'type'?: (string);
  'function'?: (_switchyard_v1_FunctionDefinition__Output);
}
