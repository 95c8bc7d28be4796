// Original file: proto/switchyard/v1/jobs.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface AttemptError {
  'attempt'?: (number);
  /**
   * An error code from docs/errors.md.
   */
  'code'?: (string);
  'message'?: (string);
  'at'?: (_google_protobuf_Timestamp | null);
}

export interface AttemptError__Output {
  'attempt'?: (number);
  /**
   * An error code from docs/errors.md.
   */
  'code'?: (string);
  'message'?: (string);
  'at'?: (_google_protobuf_Timestamp__Output);
}
