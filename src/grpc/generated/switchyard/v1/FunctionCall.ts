// Original file: proto/switchyard/v1/inference.proto


export interface FunctionCall {
  'name'?: (string);
  /**
   * The arguments as JSON text (in a stream: the next piece of it).
   */
  'arguments'?: (string);
}

export interface FunctionCall__Output {
  'name'?: (string);
  /**
   * The arguments as JSON text (in a stream: the next piece of it).
   */
  'arguments'?: (string);
}
