// Original file: proto/kserve/grpc_predict_v2.proto


export interface ServerReadyResponse {
  /**
   * True when the server is ready.
   */
  'ready'?: (boolean);
}

export interface ServerReadyResponse__Output {
  /**
   * True when the server is ready.
   */
  'ready': (boolean);
}
