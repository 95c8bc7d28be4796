// Original file: proto/switchyard/v1/inference.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ChatChunk as _switchyard_v1_ChatChunk, ChatChunk__Output as _switchyard_v1_ChatChunk__Output } from '../../switchyard/v1/ChatChunk.js';
import type { ChatRequest as _switchyard_v1_ChatRequest, ChatRequest__Output as _switchyard_v1_ChatRequest__Output } from '../../switchyard/v1/ChatRequest.js';
import type { ChatResponse as _switchyard_v1_ChatResponse, ChatResponse__Output as _switchyard_v1_ChatResponse__Output } from '../../switchyard/v1/ChatResponse.js';
import type { CompletionRequest as _switchyard_v1_CompletionRequest, CompletionRequest__Output as _switchyard_v1_CompletionRequest__Output } from '../../switchyard/v1/CompletionRequest.js';
import type { CompletionResponse as _switchyard_v1_CompletionResponse, CompletionResponse__Output as _switchyard_v1_CompletionResponse__Output } from '../../switchyard/v1/CompletionResponse.js';
import type { EmbedRequest as _switchyard_v1_EmbedRequest, EmbedRequest__Output as _switchyard_v1_EmbedRequest__Output } from '../../switchyard/v1/EmbedRequest.js';
import type { EmbedResponse as _switchyard_v1_EmbedResponse, EmbedResponse__Output as _switchyard_v1_EmbedResponse__Output } from '../../switchyard/v1/EmbedResponse.js';

export interface InferenceClient extends grpc.Client {
  /**
   * A chat completion (`POST /v1/chat/completions`).
   */
  Chat(argument: _switchyard_v1_ChatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  Chat(argument: _switchyard_v1_ChatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  Chat(argument: _switchyard_v1_ChatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  Chat(argument: _switchyard_v1_ChatRequest, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A chat completion (`POST /v1/chat/completions`).
   */
  chat(argument: _switchyard_v1_ChatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  chat(argument: _switchyard_v1_ChatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  chat(argument: _switchyard_v1_ChatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  chat(argument: _switchyard_v1_ChatRequest, callback: grpc.requestCallback<_switchyard_v1_ChatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A streamed chat completion: one message per upstream chunk, in order; the last message
   * carries `usage` (its `choices` may be empty). The stream ends with status OK after the last
   * chunk, or with an error status when the upstream broke off.
   */
  ChatStream(argument: _switchyard_v1_ChatRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_ChatChunk__Output>;
  ChatStream(argument: _switchyard_v1_ChatRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_ChatChunk__Output>;
  /**
   * A streamed chat completion: one message per upstream chunk, in order; the last message
   * carries `usage` (its `choices` may be empty). The stream ends with status OK after the last
   * chunk, or with an error status when the upstream broke off.
   */
  chatStream(argument: _switchyard_v1_ChatRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_ChatChunk__Output>;
  chatStream(argument: _switchyard_v1_ChatRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_switchyard_v1_ChatChunk__Output>;
  
  /**
   * A text completion (`POST /v1/completions`).
   */
  Complete(argument: _switchyard_v1_CompletionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  Complete(argument: _switchyard_v1_CompletionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  Complete(argument: _switchyard_v1_CompletionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  Complete(argument: _switchyard_v1_CompletionRequest, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A text completion (`POST /v1/completions`).
   */
  complete(argument: _switchyard_v1_CompletionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  complete(argument: _switchyard_v1_CompletionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  complete(argument: _switchyard_v1_CompletionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  complete(argument: _switchyard_v1_CompletionRequest, callback: grpc.requestCallback<_switchyard_v1_CompletionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Embeddings (`POST /v1/embeddings`); always float vectors.
   */
  Embed(argument: _switchyard_v1_EmbedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  Embed(argument: _switchyard_v1_EmbedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  Embed(argument: _switchyard_v1_EmbedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  Embed(argument: _switchyard_v1_EmbedRequest, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Embeddings (`POST /v1/embeddings`); always float vectors.
   */
  embed(argument: _switchyard_v1_EmbedRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embed(argument: _switchyard_v1_EmbedRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embed(argument: _switchyard_v1_EmbedRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  embed(argument: _switchyard_v1_EmbedRequest, callback: grpc.requestCallback<_switchyard_v1_EmbedResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface InferenceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * A chat completion (`POST /v1/chat/completions`).
   */
  Chat: grpc.handleUnaryCall<_switchyard_v1_ChatRequest__Output, _switchyard_v1_ChatResponse>;
  
  /**
   * A streamed chat completion: one message per upstream chunk, in order; the last message
   * carries `usage` (its `choices` may be empty). The stream ends with status OK after the last
   * chunk, or with an error status when the upstream broke off.
   */
  ChatStream: grpc.handleServerStreamingCall<_switchyard_v1_ChatRequest__Output, _switchyard_v1_ChatChunk>;
  
  /**
   * A text completion (`POST /v1/completions`).
   */
  Complete: grpc.handleUnaryCall<_switchyard_v1_CompletionRequest__Output, _switchyard_v1_CompletionResponse>;
  
  /**
   * Embeddings (`POST /v1/embeddings`); always float vectors.
   */
  Embed: grpc.handleUnaryCall<_switchyard_v1_EmbedRequest__Output, _switchyard_v1_EmbedResponse>;
  
}

export interface InferenceDefinition extends grpc.ServiceDefinition {
  Chat: MethodDefinition<_switchyard_v1_ChatRequest, _switchyard_v1_ChatResponse, _switchyard_v1_ChatRequest__Output, _switchyard_v1_ChatResponse__Output>
  ChatStream: MethodDefinition<_switchyard_v1_ChatRequest, _switchyard_v1_ChatChunk, _switchyard_v1_ChatRequest__Output, _switchyard_v1_ChatChunk__Output>
  Complete: MethodDefinition<_switchyard_v1_CompletionRequest, _switchyard_v1_CompletionResponse, _switchyard_v1_CompletionRequest__Output, _switchyard_v1_CompletionResponse__Output>
  Embed: MethodDefinition<_switchyard_v1_EmbedRequest, _switchyard_v1_EmbedResponse, _switchyard_v1_EmbedRequest__Output, _switchyard_v1_EmbedResponse__Output>
}
