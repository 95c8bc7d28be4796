// Original file: proto/switchyard/v1/jobs.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface WebhookDelivery {
  'url'?: (string);
  /**
   * "pending", "delivered" or "failed"; empty before the first delivery attempt.
   */
  'status'?: (string);
  'attempts'?: (number);
  /**
   * HTTP status of the last delivery attempt (0 when none).
   */
  'last_status'?: (number);
  'last_error'?: (string);
  'delivered_at'?: (_google_protobuf_Timestamp | null);
  '_last_error'?: "last_error";
}

export interface WebhookDelivery__Output {
  'url'?: (string);
  /**
   * "pending", "delivered" or "failed"; empty before the first delivery attempt.
   */
  'status'?: (string);
  'attempts'?: (number);
  /**
   * HTTP status of the last delivery attempt (0 when none).
   */
  'last_status'?: (number);
  'last_error'?: (string);
  'delivered_at'?: (_google_protobuf_Timestamp__Output);
  '_last_error'?: "last_error";
}
