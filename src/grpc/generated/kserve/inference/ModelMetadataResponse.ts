// Original file: proto/kserve/grpc_predict_v2.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Metadata of one input or output tensor.
 */
export interface _inference_ModelMetadataResponse_TensorMetadata {
  /**
   * The tensor name.
   */
  'name'?: (string);
  /**
   * The tensor data type (BOOL, UINT8, …, FP32, FP64, BYTES).
   */
  'datatype'?: (string);
  /**
   * The tensor shape; -1 marks a variable-size dimension.
   */
  'shape'?: (number | string | Long)[];
}

/**
 * Metadata of one input or output tensor.
 */
export interface _inference_ModelMetadataResponse_TensorMetadata__Output {
  /**
   * The tensor name.
   */
  'name': (string);
  /**
   * The tensor data type (BOOL, UINT8, …, FP32, FP64, BYTES).
   */
  'datatype': (string);
  /**
   * The tensor shape; -1 marks a variable-size dimension.
   */
  'shape': (number)[];
}

export interface ModelMetadataResponse {
  /**
   * The model name.
   */
  'name'?: (string);
  /**
   * The model versions that may be explicitly requested.
   */
  'versions'?: (string)[];
  /**
   * The model's framework or platform (e.g. onnxruntime_onnx, pytorch_libtorch).
   */
  'platform'?: (string);
  /**
   * The model's inputs.
   */
  'inputs'?: (_inference_ModelMetadataResponse_TensorMetadata)[];
  /**
   * The model's outputs.
   */
  'outputs'?: (_inference_ModelMetadataResponse_TensorMetadata)[];
}

export interface ModelMetadataResponse__Output {
  /**
   * The model name.
   */
  'name': (string);
  /**
   * The model versions that may be explicitly requested.
   */
  'versions': (string)[];
  /**
   * The model's framework or platform (e.g. onnxruntime_onnx, pytorch_libtorch).
   */
  'platform': (string);
  /**
   * The model's inputs.
   */
  'inputs': (_inference_ModelMetadataResponse_TensorMetadata__Output)[];
  /**
   * The model's outputs.
   */
  'outputs': (_inference_ModelMetadataResponse_TensorMetadata__Output)[];
}
