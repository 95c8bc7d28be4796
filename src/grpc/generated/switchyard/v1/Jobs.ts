// Original file: proto/switchyard/v1/jobs.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelJobRequest as _switchyard_v1_CancelJobRequest, CancelJobRequest__Output as _switchyard_v1_CancelJobRequest__Output } from '../../switchyard/v1/CancelJobRequest.js';
import type { GetJobRequest as _switchyard_v1_GetJobRequest, GetJobRequest__Output as _switchyard_v1_GetJobRequest__Output } from '../../switchyard/v1/GetJobRequest.js';
import type { Job as _switchyard_v1_Job, Job__Output as _switchyard_v1_Job__Output } from '../../switchyard/v1/Job.js';
import type { SubmitJobRequest as _switchyard_v1_SubmitJobRequest, SubmitJobRequest__Output as _switchyard_v1_SubmitJobRequest__Output } from '../../switchyard/v1/SubmitJobRequest.js';
import type { WatchJobRequest as _switchyard_v1_WatchJobRequest, WatchJobRequest__Output as _switchyard_v1_WatchJobRequest__Output } from '../../switchyard/v1/WatchJobRequest.js';

export interface JobsClient extends grpc.Client {
  /**
   * Cancels a PENDING or RUNNING job (a running attempt is aborted); a finished job is returned as
   * it is.
   */
  Cancel(argument: _switchyard_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _switchyard_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _switchyard_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Cancel(argument: _switchyard_v1_CancelJobRequest, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  /**
   * Cancels a PENDING or RUNNING job (a running attempt is aborted); a finished job is returned as
   * it is.
   */
  cancel(argument: _switchyard_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  cancel(argument: _switchyard_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  cancel(argument: _switchyard_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  cancel(argument: _switchyard_v1_CancelJobRequest, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  
  Get(argument: _switchyard_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Get(argument: _switchyard_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Get(argument: _switchyard_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Get(argument: _switchyard_v1_GetJobRequest, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  get(argument: _switchyard_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  get(argument: _switchyard_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  get(argument: _switchyard_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  get(argument: _switchyard_v1_GetJobRequest, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  
  /**
   * Accepts a job (status PENDING) and returns it.
   */
  Submit(argument: _switchyard_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Submit(argument: _switchyard_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Submit(argument: _switchyard_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  Submit(argument: _switchyard_v1_SubmitJobRequest, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  /**
   * Accepts a job (status PENDING) and returns it.
   */
  submit(argument: _switchyard_v1_SubmitJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  submit(argument: _switchyard_v1_SubmitJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  submit(argument: _switchyard_v1_SubmitJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  submit(argument: _switchyard_v1_SubmitJobRequest, callback: grpc.requestCallback<_switchyard_v1_Job__Output>): grpc.ClientUnaryCall;
  
  /**
   * The job now, then again on every change of state; ends with status OK once the job is finished
   * (SUCCESS, FAILED or CANCELLED).
   */
  Watch(argument: _switchyard_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_Job__Output>;
  Watch(argument: _switchyard_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_Job__Output>;
  /**
   * The job now, then again on every change of state; ends with status OK once the job is finished
   * (SUCCESS, FAILED or CANCELLED).
   */
  watch(argument: _switchyard_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_Job__Output>;
  watch(argument: _switchyard_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_Job__Output>;
  
}

export interface JobsHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Cancels a PENDING or RUNNING job (a running attempt is aborted); a finished job is returned as
   * it is.
   */
  Cancel: grpc.handleUnaryCall<_switchyard_v1_CancelJobRequest__Output, _switchyard_v1_Job>;
  
  Get: grpc.handleUnaryCall<_switchyard_v1_GetJobRequest__Output, _switchyard_v1_Job>;
  
  /**
   * Accepts a job (status PENDING) and returns it.
   */
  Submit: grpc.handleUnaryCall<_switchyard_v1_SubmitJobRequest__Output, _switchyard_v1_Job>;
  
  /**
   * The job now, then again on every change of state; ends with status OK once the job is finished
   * (SUCCESS, FAILED or CANCELLED).
   */
  Watch: grpc.handleServerStreamingCall<_switchyard_v1_WatchJobRequest__Output, _switchyard_v1_Job>;
  
}

export interface JobsDefinition extends grpc.ServiceDefinition {
  Cancel: MethodDefinition<_switchyard_v1_CancelJobRequest, _switchyard_v1_Job, _switchyard_v1_CancelJobRequest__Output, _switchyard_v1_Job__Output>
  Get: MethodDefinition<_switchyard_v1_GetJobRequest, _switchyard_v1_Job, _switchyard_v1_GetJobRequest__Output, _switchyard_v1_Job__Output>
  Submit: MethodDefinition<_switchyard_v1_SubmitJobRequest, _switchyard_v1_Job, _switchyard_v1_SubmitJobRequest__Output, _switchyard_v1_Job__Output>
  Watch: MethodDefinition<_switchyard_v1_WatchJobRequest, _switchyard_v1_Job, _switchyard_v1_WatchJobRequest__Output, _switchyard_v1_Job__Output>
}
