// Original file: proto/kserve/grpc_predict_v2.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ModelInferRequest as _inference_ModelInferRequest, ModelInferRequest__Output as _inference_ModelInferRequest__Output } from '../inference/ModelInferRequest.js';
import type { ModelInferResponse as _inference_ModelInferResponse, ModelInferResponse__Output as _inference_ModelInferResponse__Output } from '../inference/ModelInferResponse.js';
import type { ModelMetadataRequest as _inference_ModelMetadataRequest, ModelMetadataRequest__Output as _inference_ModelMetadataRequest__Output } from '../inference/ModelMetadataRequest.js';
import type { ModelMetadataResponse as _inference_ModelMetadataResponse, ModelMetadataResponse__Output as _inference_ModelMetadataResponse__Output } from '../inference/ModelMetadataResponse.js';
import type { ModelReadyRequest as _inference_ModelReadyRequest, ModelReadyRequest__Output as _inference_ModelReadyRequest__Output } from '../inference/ModelReadyRequest.js';
import type { ModelReadyResponse as _inference_ModelReadyResponse, ModelReadyResponse__Output as _inference_ModelReadyResponse__Output } from '../inference/ModelReadyResponse.js';
import type { ServerLiveRequest as _inference_ServerLiveRequest, ServerLiveRequest__Output as _inference_ServerLiveRequest__Output } from '../inference/ServerLiveRequest.js';
import type { ServerLiveResponse as _inference_ServerLiveResponse, ServerLiveResponse__Output as _inference_ServerLiveResponse__Output } from '../inference/ServerLiveResponse.js';
import type { ServerMetadataRequest as _inference_ServerMetadataRequest, ServerMetadataRequest__Output as _inference_ServerMetadataRequest__Output } from '../inference/ServerMetadataRequest.js';
import type { ServerMetadataResponse as _inference_ServerMetadataResponse, ServerMetadataResponse__Output as _inference_ServerMetadataResponse__Output } from '../inference/ServerMetadataResponse.js';
import type { ServerReadyRequest as _inference_ServerReadyRequest, ServerReadyRequest__Output as _inference_ServerReadyRequest__Output } from '../inference/ServerReadyRequest.js';
import type { ServerReadyResponse as _inference_ServerReadyResponse, ServerReadyResponse__Output as _inference_ServerReadyResponse__Output } from '../inference/ServerReadyResponse.js';

/**
 * Inference server and model endpoints.
 */
export interface GRPCInferenceServiceClient extends grpc.Client {
  /**
   * Runs one inference on a model.
   */
  ModelInfer(argument: _inference_ModelInferRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  ModelInfer(argument: _inference_ModelInferRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  ModelInfer(argument: _inference_ModelInferRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  ModelInfer(argument: _inference_ModelInferRequest, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Runs one inference on a model.
   */
  modelInfer(argument: _inference_ModelInferRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  modelInfer(argument: _inference_ModelInferRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  modelInfer(argument: _inference_ModelInferRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  modelInfer(argument: _inference_ModelInferRequest, callback: grpc.requestCallback<_inference_ModelInferResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A model's versions, platform, inputs and outputs.
   */
  ModelMetadata(argument: _inference_ModelMetadataRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  ModelMetadata(argument: _inference_ModelMetadataRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  ModelMetadata(argument: _inference_ModelMetadataRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  ModelMetadata(argument: _inference_ModelMetadataRequest, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A model's versions, platform, inputs and outputs.
   */
  modelMetadata(argument: _inference_ModelMetadataRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  modelMetadata(argument: _inference_ModelMetadataRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  modelMetadata(argument: _inference_ModelMetadataRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  modelMetadata(argument: _inference_ModelMetadataRequest, callback: grpc.requestCallback<_inference_ModelMetadataResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * One model (and optionally version) is ready to serve requests.
   */
  ModelReady(argument: _inference_ModelReadyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  ModelReady(argument: _inference_ModelReadyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  ModelReady(argument: _inference_ModelReadyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  ModelReady(argument: _inference_ModelReadyRequest, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * One model (and optionally version) is ready to serve requests.
   */
  modelReady(argument: _inference_ModelReadyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  modelReady(argument: _inference_ModelReadyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  modelReady(argument: _inference_ModelReadyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  modelReady(argument: _inference_ModelReadyRequest, callback: grpc.requestCallback<_inference_ModelReadyResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The server is live: it can receive and respond to requests.
   */
  ServerLive(argument: _inference_ServerLiveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  ServerLive(argument: _inference_ServerLiveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  ServerLive(argument: _inference_ServerLiveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  ServerLive(argument: _inference_ServerLiveRequest, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The server is live: it can receive and respond to requests.
   */
  serverLive(argument: _inference_ServerLiveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  serverLive(argument: _inference_ServerLiveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  serverLive(argument: _inference_ServerLiveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  serverLive(argument: _inference_ServerLiveRequest, callback: grpc.requestCallback<_inference_ServerLiveResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The server's name, version and protocol extensions.
   */
  ServerMetadata(argument: _inference_ServerMetadataRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  ServerMetadata(argument: _inference_ServerMetadataRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  ServerMetadata(argument: _inference_ServerMetadataRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  ServerMetadata(argument: _inference_ServerMetadataRequest, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The server's name, version and protocol extensions.
   */
  serverMetadata(argument: _inference_ServerMetadataRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  serverMetadata(argument: _inference_ServerMetadataRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  serverMetadata(argument: _inference_ServerMetadataRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  serverMetadata(argument: _inference_ServerMetadataRequest, callback: grpc.requestCallback<_inference_ServerMetadataResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The server is ready: all its models can serve requests.
   */
  ServerReady(argument: _inference_ServerReadyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  ServerReady(argument: _inference_ServerReadyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  ServerReady(argument: _inference_ServerReadyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  ServerReady(argument: _inference_ServerReadyRequest, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The server is ready: all its models can serve requests.
   */
  serverReady(argument: _inference_ServerReadyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  serverReady(argument: _inference_ServerReadyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  serverReady(argument: _inference_ServerReadyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  serverReady(argument: _inference_ServerReadyRequest, callback: grpc.requestCallback<_inference_ServerReadyResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * Inference server and model endpoints.
 */
export interface GRPCInferenceServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Runs one inference on a model.
   */
  ModelInfer: grpc.handleUnaryCall<_inference_ModelInferRequest__Output, _inference_ModelInferResponse>;
  
  /**
   * A model's versions, platform, inputs and outputs.
   */
  ModelMetadata: grpc.handleUnaryCall<_inference_ModelMetadataRequest__Output, _inference_ModelMetadataResponse>;
  
  /**
   * One model (and optionally version) is ready to serve requests.
   */
  ModelReady: grpc.handleUnaryCall<_inference_ModelReadyRequest__Output, _inference_ModelReadyResponse>;
  
  /**
   * The server is live: it can receive and respond to requests.
   */
  ServerLive: grpc.handleUnaryCall<_inference_ServerLiveRequest__Output, _inference_ServerLiveResponse>;
  
  /**
   * The server's name, version and protocol extensions.
   */
  ServerMetadata: grpc.handleUnaryCall<_inference_ServerMetadataRequest__Output, _inference_ServerMetadataResponse>;
  
  /**
   * The server is ready: all its models can serve requests.
   */
  ServerReady: grpc.handleUnaryCall<_inference_ServerReadyRequest__Output, _inference_ServerReadyResponse>;
  
}

export interface GRPCInferenceServiceDefinition extends grpc.ServiceDefinition {
  ModelInfer: MethodDefinition<_inference_ModelInferRequest, _inference_ModelInferResponse, _inference_ModelInferRequest__Output, _inference_ModelInferResponse__Output>
  ModelMetadata: MethodDefinition<_inference_ModelMetadataRequest, _inference_ModelMetadataResponse, _inference_ModelMetadataRequest__Output, _inference_ModelMetadataResponse__Output>
  ModelReady: MethodDefinition<_inference_ModelReadyRequest, _inference_ModelReadyResponse, _inference_ModelReadyRequest__Output, _inference_ModelReadyResponse__Output>
  ServerLive: MethodDefinition<_inference_ServerLiveRequest, _inference_ServerLiveResponse, _inference_ServerLiveRequest__Output, _inference_ServerLiveResponse__Output>
  ServerMetadata: MethodDefinition<_inference_ServerMetadataRequest, _inference_ServerMetadataResponse, _inference_ServerMetadataRequest__Output, _inference_ServerMetadataResponse__Output>
  ServerReady: MethodDefinition<_inference_ServerReadyRequest, _inference_ServerReadyResponse, _inference_ServerReadyRequest__Output, _inference_ServerReadyResponse__Output>
}
