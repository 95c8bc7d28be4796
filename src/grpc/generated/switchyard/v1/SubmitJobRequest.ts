// Original file: proto/switchyard/v1/jobs.proto

import type { ChatRequest as _switchyard_v1_ChatRequest, ChatRequest__Output as _switchyard_v1_ChatRequest__Output } from '../../switchyard/v1/ChatRequest.js';
import type { CompletionRequest as _switchyard_v1_CompletionRequest, CompletionRequest__Output as _switchyard_v1_CompletionRequest__Output } from '../../switchyard/v1/CompletionRequest.js';
import type { EmbedRequest as _switchyard_v1_EmbedRequest, EmbedRequest__Output as _switchyard_v1_EmbedRequest__Output } from '../../switchyard/v1/EmbedRequest.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { RunPipelineRequest as _switchyard_v1_RunPipelineRequest, RunPipelineRequest__Output as _switchyard_v1_RunPipelineRequest__Output } from '../../switchyard/v1/RunPipelineRequest.js';

export interface SubmitJobRequest {
  'chat'?: (_switchyard_v1_ChatRequest | null);
  'completion'?: (_switchyard_v1_CompletionRequest | null);
  'embedding'?: (_switchyard_v1_EmbedRequest | null);
  /**
   * Higher runs first, from -1000 to 1000 (default 0).
   */
  'priority'?: (number);
  /**
   * Not before this time.
   */
  'run_after'?: (_google_protobuf_Timestamp | null);
  /**
   * Give up (FAILED, deadline_exceeded) when not finished by this time.
   */
  'deadline'?: (_google_protobuf_Timestamp | null);
  /**
   * Attempts in total, from 1 to 100 (default `jobs.maxAttempts`).
   */
  'max_attempts'?: (number);
  /**
   * POSTed the finished job (docs/jobs.md#webhooks).
   */
  'webhook_url'?: (string);
  /**
   * Up to 16 keys of your own, returned with the job.
   */
  'metadata'?: ({[key: string]: string});
  /**
   * A configured pipeline with its inputs (docs/pipelines.md); `debug` keeps every step's report.
   */
  'pipeline'?: (_switchyard_v1_RunPipelineRequest | null);
  /**
   * What to run. Streaming is not available for jobs.
   */
  'request'?: "chat"|"completion"|"embedding"|"pipeline";
  '_priority'?: "priority";
  '_max_attempts'?: "max_attempts";
  '_webhook_url'?: "webhook_url";
}

export interface SubmitJobRequest__Output {
  'chat'?: (_switchyard_v1_ChatRequest__Output);
  'completion'?: (_switchyard_v1_CompletionRequest__Output);
  'embedding'?: (_switchyard_v1_EmbedRequest__Output);
  /**
   * Higher runs first, from -1000 to 1000 (default 0).
   */
  'priority'?: (number);
  /**
   * Not before this time.
   */
  'run_after'?: (_google_protobuf_Timestamp__Output);
  /**
   * Give up (FAILED, deadline_exceeded) when not finished by this time.
   */
  'deadline'?: (_google_protobuf_Timestamp__Output);
  /**
   * Attempts in total, from 1 to 100 (default `jobs.maxAttempts`).
   */
  'max_attempts'?: (number);
  /**
   * POSTed the finished job (docs/jobs.md#webhooks).
   */
  'webhook_url'?: (string);
  /**
   * Up to 16 keys of your own, returned with the job.
   */
  'metadata'?: ({[key: string]: string});
  /**
   * A configured pipeline with its inputs (docs/pipelines.md); `debug` keeps every step's report.
   */
  'pipeline'?: (_switchyard_v1_RunPipelineRequest__Output);
  /**
   * What to run. Streaming is not available for jobs.
   */
  'request'?: "chat"|"completion"|"embedding"|"pipeline";
  '_priority'?: "priority";
  '_max_attempts'?: "max_attempts";
  '_webhook_url'?: "webhook_url";
}
