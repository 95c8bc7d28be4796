// Original file: proto/kserve/grpc_predict_v2.proto


export interface ModelReadyResponse {
  /**
   * True when the model is ready.
   */
  'ready'?: (boolean);
}

export interface ModelReadyResponse__Output {
  /**
   * True when the model is ready.
   */
  'ready': (boolean);
}
