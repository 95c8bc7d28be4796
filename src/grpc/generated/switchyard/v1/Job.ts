// Original file: proto/switchyard/v1/jobs.proto

import type { JobStatus as _switchyard_v1_JobStatus, JobStatus__Output as _switchyard_v1_JobStatus__Output } from '../../switchyard/v1/JobStatus.js';
import type { AttemptError as _switchyard_v1_AttemptError, AttemptError__Output as _switchyard_v1_AttemptError__Output } from '../../switchyard/v1/AttemptError.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { ChatResponse as _switchyard_v1_ChatResponse, ChatResponse__Output as _switchyard_v1_ChatResponse__Output } from '../../switchyard/v1/ChatResponse.js';
import type { CompletionResponse as _switchyard_v1_CompletionResponse, CompletionResponse__Output as _switchyard_v1_CompletionResponse__Output } from '../../switchyard/v1/CompletionResponse.js';
import type { EmbedResponse as _switchyard_v1_EmbedResponse, EmbedResponse__Output as _switchyard_v1_EmbedResponse__Output } from '../../switchyard/v1/EmbedResponse.js';
import type { JobError as _switchyard_v1_JobError, JobError__Output as _switchyard_v1_JobError__Output } from '../../switchyard/v1/JobError.js';
import type { WebhookDelivery as _switchyard_v1_WebhookDelivery, WebhookDelivery__Output as _switchyard_v1_WebhookDelivery__Output } from '../../switchyard/v1/WebhookDelivery.js';
import type { PipelineRun as _switchyard_v1_PipelineRun, PipelineRun__Output as _switchyard_v1_PipelineRun__Output } from '../../switchyard/v1/PipelineRun.js';

export interface Job {
  'id'?: (string);
  /**
   * "chat.completion", "completion", "embedding" or "pipeline".
   */
  'type'?: (string);
  'status'?: (_switchyard_v1_JobStatus);
  'priority'?: (number);
  'attempts'?: (number);
  'max_attempts'?: (number);
  'attempt_errors'?: (_switchyard_v1_AttemptError)[];
  'created_at'?: (_google_protobuf_Timestamp | null);
  'updated_at'?: (_google_protobuf_Timestamp | null);
  'started_at'?: (_google_protobuf_Timestamp | null);
  'finished_at'?: (_google_protobuf_Timestamp | null);
  'run_after'?: (_google_protobuf_Timestamp | null);
  'deadline'?: (_google_protobuf_Timestamp | null);
  'chat'?: (_switchyard_v1_ChatResponse | null);
  'completion'?: (_switchyard_v1_CompletionResponse | null);
  'embedding'?: (_switchyard_v1_EmbedResponse | null);
  /**
   * Why a FAILED job failed.
   */
  'error'?: (_switchyard_v1_JobError | null);
  'webhook'?: (_switchyard_v1_WebhookDelivery | null);
  'metadata'?: ({[key: string]: string});
  'pipeline'?: (_switchyard_v1_PipelineRun | null);
  /**
   * The answer of a SUCCESS job.
   */
  'result'?: "chat"|"completion"|"embedding"|"pipeline";
}

export interface Job__Output {
  'id'?: (string);
  /**
   * "chat.completion", "completion", "embedding" or "pipeline".
   */
  'type'?: (string);
  'status'?: (_switchyard_v1_JobStatus__Output);
  'priority'?: (number);
  'attempts'?: (number);
  'max_attempts'?: (number);
  'attempt_errors'?: (_switchyard_v1_AttemptError__Output)[];
  'created_at'?: (_google_protobuf_Timestamp__Output);
  'updated_at'?: (_google_protobuf_Timestamp__Output);
  'started_at'?: (_google_protobuf_Timestamp__Output);
  'finished_at'?: (_google_protobuf_Timestamp__Output);
  'run_after'?: (_google_protobuf_Timestamp__Output);
  'deadline'?: (_google_protobuf_Timestamp__Output);
  'chat'?: (_switchyard_v1_ChatResponse__Output);
  'completion'?: (_switchyard_v1_CompletionResponse__Output);
  'embedding'?: (_switchyard_v1_EmbedResponse__Output);
  /**
   * Why a FAILED job failed.
   */
  'error'?: (_switchyard_v1_JobError__Output);
  'webhook'?: (_switchyard_v1_WebhookDelivery__Output);
  'metadata'?: ({[key: string]: string});
  'pipeline'?: (_switchyard_v1_PipelineRun__Output);
  /**
   * The answer of a SUCCESS job.
   */
  'result'?: "chat"|"completion"|"embedding"|"pipeline";
}
