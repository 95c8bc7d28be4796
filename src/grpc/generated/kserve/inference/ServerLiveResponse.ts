// Original file: proto/kserve/grpc_predict_v2.proto


export interface ServerLiveResponse {
  /**
   * True when the server is live.
   */
  'live'?: (boolean);
}

export interface ServerLiveResponse__Output {
  /**
   * True when the server is live.
   */
  'live': (boolean);
}
