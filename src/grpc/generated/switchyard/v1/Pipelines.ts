// Original file: proto/switchyard/v1/pipelines.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ListPipelinesRequest as _switchyard_v1_ListPipelinesRequest, ListPipelinesRequest__Output as _switchyard_v1_ListPipelinesRequest__Output } from '../../switchyard/v1/ListPipelinesRequest.js';
import type { ListPipelinesResponse as _switchyard_v1_ListPipelinesResponse, ListPipelinesResponse__Output as _switchyard_v1_ListPipelinesResponse__Output } from '../../switchyard/v1/ListPipelinesResponse.js';
import type { PipelineEvent as _switchyard_v1_PipelineEvent, PipelineEvent__Output as _switchyard_v1_PipelineEvent__Output } from '../../switchyard/v1/PipelineEvent.js';
import type { PipelineRun as _switchyard_v1_PipelineRun, PipelineRun__Output as _switchyard_v1_PipelineRun__Output } from '../../switchyard/v1/PipelineRun.js';
import type { RunPipelineRequest as _switchyard_v1_RunPipelineRequest, RunPipelineRequest__Output as _switchyard_v1_RunPipelineRequest__Output } from '../../switchyard/v1/RunPipelineRequest.js';

export interface PipelinesClient extends grpc.Client {
  /**
   * The pipelines the caller may run (every step's model allowed), with their inputs.
   */
  List(argument: _switchyard_v1_ListPipelinesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _switchyard_v1_ListPipelinesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _switchyard_v1_ListPipelinesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _switchyard_v1_ListPipelinesRequest, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The pipelines the caller may run (every step's model allowed), with their inputs.
   */
  list(argument: _switchyard_v1_ListPipelinesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _switchyard_v1_ListPipelinesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _switchyard_v1_ListPipelinesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _switchyard_v1_ListPipelinesRequest, callback: grpc.requestCallback<_switchyard_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Runs a pipeline and returns its result (with every step's report when `debug`).
   */
  Run(argument: _switchyard_v1_RunPipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  Run(argument: _switchyard_v1_RunPipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  Run(argument: _switchyard_v1_RunPipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  Run(argument: _switchyard_v1_RunPipelineRequest, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  /**
   * Runs a pipeline and returns its result (with every step's report when `debug`).
   */
  run(argument: _switchyard_v1_RunPipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  run(argument: _switchyard_v1_RunPipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  run(argument: _switchyard_v1_RunPipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  run(argument: _switchyard_v1_RunPipelineRequest, callback: grpc.requestCallback<_switchyard_v1_PipelineRun__Output>): grpc.ClientUnaryCall;
  
  /**
   * Runs a pipeline and streams its events: steps starting and finishing, the tokens of its stream
   * steps, then the result as the last message.
   */
  RunStream(argument: _switchyard_v1_RunPipelineRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_PipelineEvent__Output>;
  RunStream(argument: _switchyard_v1_RunPipelineRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_PipelineEvent__Output>;
  /**
   * Runs a pipeline and streams its events: steps starting and finishing, the tokens of its stream
   * steps, then the result as the last message.
   */
  runStream(argument: _switchyard_v1_RunPipelineRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_PipelineEvent__Output>;
  runStream(argument: _switchyard_v1_RunPipelineRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_PipelineEvent__Output>;
  
}

export interface PipelinesHandlers extends grpc.UntypedServiceImplementation {
  /**
   * The pipelines the caller may run (every step's model allowed), with their inputs.
   */
  List: grpc.handleUnaryCall<_switchyard_v1_ListPipelinesRequest__Output, _switchyard_v1_ListPipelinesResponse>;
  
  /**
   * Runs a pipeline and returns its result (with every step's report when `debug`).
   */
  Run: grpc.handleUnaryCall<_switchyard_v1_RunPipelineRequest__Output, _switchyard_v1_PipelineRun>;
  
  /**
   * Runs a pipeline and streams its events: steps starting and finishing, the tokens of its stream
   * steps, then the result as the last message.
   */
  RunStream: grpc.handleServerStreamingCall<_switchyard_v1_RunPipelineRequest__Output, _switchyard_v1_PipelineEvent>;
  
}

export interface PipelinesDefinition extends grpc.ServiceDefinition {
  List: MethodDefinition<_switchyard_v1_ListPipelinesRequest, _switchyard_v1_ListPipelinesResponse, _switchyard_v1_ListPipelinesRequest__Output, _switchyard_v1_ListPipelinesResponse__Output>
  Run: MethodDefinition<_switchyard_v1_RunPipelineRequest, _switchyard_v1_PipelineRun, _switchyard_v1_RunPipelineRequest__Output, _switchyard_v1_PipelineRun__Output>
  RunStream: MethodDefinition<_switchyard_v1_RunPipelineRequest, _switchyard_v1_PipelineEvent, _switchyard_v1_RunPipelineRequest__Output, _switchyard_v1_PipelineEvent__Output>
}
