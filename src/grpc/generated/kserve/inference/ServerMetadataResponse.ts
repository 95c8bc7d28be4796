// Original file: proto/kserve/grpc_predict_v2.proto


export interface ServerMetadataResponse {
  /**
   * The server name.
   */
  'name'?: (string);
  /**
   * The server version.
   */
  'version'?: (string);
  /**
   * The protocol extensions the server supports.
   */
  'extensions'?: (string)[];
}

export interface ServerMetadataResponse__Output {
  /**
   * The server name.
   */
  'name': (string);
  /**
   * The server version.
   */
  'version': (string);
  /**
   * The protocol extensions the server supports.
   */
  'extensions': (string)[];
}
