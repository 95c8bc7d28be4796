// Original file: proto/kserve/grpc_predict_v2.proto

import type { InferParameter as _inference_InferParameter, InferParameter__Output as _inference_InferParameter__Output } from '../inference/InferParameter.js';
import type { InferTensorContents as _inference_InferTensorContents, InferTensorContents__Output as _inference_InferTensorContents__Output } from '../inference/InferTensorContents.js';
import type { Long } from '@grpc/proto-loader';

/**
 * An input tensor of an inference request.
 */
export interface _inference_ModelInferRequest_InferInputTensor {
  /**
   * The tensor name.
   */
  'name'?: (string);
  /**
   * The tensor data type.
   */
  'datatype'?: (string);
  /**
   * The tensor shape.
   */
  'shape'?: (number | string | Long)[];
  /**
   * Optional tensor parameters.
   */
  'parameters'?: ({[key: string]: _inference_InferParameter});
  /**
   * The tensor contents in typed form. Unset when the data is in `raw_input_contents`.
   */
  'contents'?: (_inference_InferTensorContents | null);
}

/**
 * An input tensor of an inference request.
 */
export interface _inference_ModelInferRequest_InferInputTensor__Output {
  /**
   * The tensor name.
   */
  'name': (string);
  /**
   * The tensor data type.
   */
  'datatype': (string);
  /**
   * The tensor shape.
   */
  'shape': (number)[];
  /**
   * Optional tensor parameters.
   */
  'parameters': ({[key: string]: _inference_InferParameter__Output});
  /**
   * The tensor contents in typed form. Unset when the data is in `raw_input_contents`.
   */
  'contents': (_inference_InferTensorContents__Output | null);
}

/**
 * An output tensor requested by an inference request.
 */
export interface _inference_ModelInferRequest_InferRequestedOutputTensor {
  /**
   * The tensor name.
   */
  'name'?: (string);
  /**
   * Optional requested output tensor parameters.
   */
  'parameters'?: ({[key: string]: _inference_InferParameter});
}

/**
 * An output tensor requested by an inference request.
 */
export interface _inference_ModelInferRequest_InferRequestedOutputTensor__Output {
  /**
   * The tensor name.
   */
  'name': (string);
  /**
   * Optional requested output tensor parameters.
   */
  'parameters': ({[key: string]: _inference_InferParameter__Output});
}

export interface ModelInferRequest {
  /**
   * The name of the model to run.
   */
  'model_name'?: (string);
  /**
   * The version of the model; empty lets the server choose.
   */
  'model_version'?: (string);
  /**
   * Optional identifier, returned in the response.
   */
  'id'?: (string);
  /**
   * Optional inference parameters.
   */
  'parameters'?: ({[key: string]: _inference_InferParameter});
  /**
   * The input tensors.
   */
  'inputs'?: (_inference_ModelInferRequest_InferInputTensor)[];
  /**
   * The requested output tensors; when empty, every output is returned.
   */
  'outputs'?: (_inference_ModelInferRequest_InferRequestedOutputTensor)[];
  /**
   * The data of the input tensors in raw form: little-endian, row-major bytes, one entry per input in
   * the order of `inputs`. BYTES elements are each preceded by a 4-byte little-endian length. When
   * used, no input may carry `contents`.
   */
  'raw_input_contents'?: (Buffer | Uint8Array | string)[];
}

export interface ModelInferRequest__Output {
  /**
   * The name of the model to run.
   */
  'model_name': (string);
  /**
   * The version of the model; empty lets the server choose.
   */
  'model_version': (string);
  /**
   * Optional identifier, returned in the response.
   */
  'id': (string);
  /**
   * Optional inference parameters.
   */
  'parameters': ({[key: string]: _inference_InferParameter__Output});
  /**
   * The input tensors.
   */
  'inputs': (_inference_ModelInferRequest_InferInputTensor__Output)[];
  /**
   * The requested output tensors; when empty, every output is returned.
   */
  'outputs': (_inference_ModelInferRequest_InferRequestedOutputTensor__Output)[];
  /**
   * The data of the input tensors in raw form: little-endian, row-major bytes, one entry per input in
   * the order of `inputs`. BYTES elements are each preceded by a 4-byte little-endian length. When
   * used, no input may carry `contents`.
   */
  'raw_input_contents': (Buffer)[];
}
