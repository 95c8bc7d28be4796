// Original file: proto/kserve/grpc_predict_v2.proto


export interface ModelMetadataRequest {
  /**
   * The name of the model.
   */
  'name'?: (string);
  /**
   * The version of the model; empty lets the server choose.
   */
  'version'?: (string);
}

export interface ModelMetadataRequest__Output {
  /**
   * The name of the model.
   */
  'name': (string);
  /**
   * The version of the model; empty lets the server choose.
   */
  'version': (string);
}
