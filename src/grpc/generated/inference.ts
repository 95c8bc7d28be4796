import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { ChatChoice as _switchyard_v1_ChatChoice, ChatChoice__Output as _switchyard_v1_ChatChoice__Output } from './switchyard/v1/ChatChoice.js';
import type { ChatChunk as _switchyard_v1_ChatChunk, ChatChunk__Output as _switchyard_v1_ChatChunk__Output } from './switchyard/v1/ChatChunk.js';
import type { ChatDelta as _switchyard_v1_ChatDelta, ChatDelta__Output as _switchyard_v1_ChatDelta__Output } from './switchyard/v1/ChatDelta.js';
import type { ChatMessage as _switchyard_v1_ChatMessage, ChatMessage__Output as _switchyard_v1_ChatMessage__Output } from './switchyard/v1/ChatMessage.js';
import type { ChatRequest as _switchyard_v1_ChatRequest, ChatRequest__Output as _switchyard_v1_ChatRequest__Output } from './switchyard/v1/ChatRequest.js';
import type { ChatResponse as _switchyard_v1_ChatResponse, ChatResponse__Output as _switchyard_v1_ChatResponse__Output } from './switchyard/v1/ChatResponse.js';
import type { ChunkChoice as _switchyard_v1_ChunkChoice, ChunkChoice__Output as _switchyard_v1_ChunkChoice__Output } from './switchyard/v1/ChunkChoice.js';
import type { CompletionChoice as _switchyard_v1_CompletionChoice, CompletionChoice__Output as _switchyard_v1_CompletionChoice__Output } from './switchyard/v1/CompletionChoice.js';
import type { CompletionRequest as _switchyard_v1_CompletionRequest, CompletionRequest__Output as _switchyard_v1_CompletionRequest__Output } from './switchyard/v1/CompletionRequest.js';
import type { CompletionResponse as _switchyard_v1_CompletionResponse, CompletionResponse__Output as _switchyard_v1_CompletionResponse__Output } from './switchyard/v1/CompletionResponse.js';
import type { ContentPart as _switchyard_v1_ContentPart, ContentPart__Output as _switchyard_v1_ContentPart__Output } from './switchyard/v1/ContentPart.js';
import type { ContentParts as _switchyard_v1_ContentParts, ContentParts__Output as _switchyard_v1_ContentParts__Output } from './switchyard/v1/ContentParts.js';
import type { EmbedRequest as _switchyard_v1_EmbedRequest, EmbedRequest__Output as _switchyard_v1_EmbedRequest__Output } from './switchyard/v1/EmbedRequest.js';
import type { EmbedResponse as _switchyard_v1_EmbedResponse, EmbedResponse__Output as _switchyard_v1_EmbedResponse__Output } from './switchyard/v1/EmbedResponse.js';
import type { Embedding as _switchyard_v1_Embedding, Embedding__Output as _switchyard_v1_Embedding__Output } from './switchyard/v1/Embedding.js';
import type { FunctionCall as _switchyard_v1_FunctionCall, FunctionCall__Output as _switchyard_v1_FunctionCall__Output } from './switchyard/v1/FunctionCall.js';
import type { FunctionDefinition as _switchyard_v1_FunctionDefinition, FunctionDefinition__Output as _switchyard_v1_FunctionDefinition__Output } from './switchyard/v1/FunctionDefinition.js';
import type { ImageUrl as _switchyard_v1_ImageUrl, ImageUrl__Output as _switchyard_v1_ImageUrl__Output } from './switchyard/v1/ImageUrl.js';
import type { InferenceClient as _switchyard_v1_InferenceClient, InferenceDefinition as _switchyard_v1_InferenceDefinition } from './switchyard/v1/Inference.js';
import type { TokenIds as _switchyard_v1_TokenIds, TokenIds__Output as _switchyard_v1_TokenIds__Output } from './switchyard/v1/TokenIds.js';
import type { Tool as _switchyard_v1_Tool, Tool__Output as _switchyard_v1_Tool__Output } from './switchyard/v1/Tool.js';
import type { ToolCall as _switchyard_v1_ToolCall, ToolCall__Output as _switchyard_v1_ToolCall__Output } from './switchyard/v1/ToolCall.js';
import type { Usage as _switchyard_v1_Usage, Usage__Output as _switchyard_v1_Usage__Output } from './switchyard/v1/Usage.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<_google_protobuf_ListValue, _google_protobuf_ListValue__Output>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<_google_protobuf_Struct, _google_protobuf_Struct__Output>
      Value: MessageTypeDefinition<_google_protobuf_Value, _google_protobuf_Value__Output>
    }
  }
  switchyard: {
    v1: {
      ChatChoice: MessageTypeDefinition<_switchyard_v1_ChatChoice, _switchyard_v1_ChatChoice__Output>
      ChatChunk: MessageTypeDefinition<_switchyard_v1_ChatChunk, _switchyard_v1_ChatChunk__Output>
      ChatDelta: MessageTypeDefinition<_switchyard_v1_ChatDelta, _switchyard_v1_ChatDelta__Output>
      ChatMessage: MessageTypeDefinition<_switchyard_v1_ChatMessage, _switchyard_v1_ChatMessage__Output>
      ChatRequest: MessageTypeDefinition<_switchyard_v1_ChatRequest, _switchyard_v1_ChatRequest__Output>
      ChatResponse: MessageTypeDefinition<_switchyard_v1_ChatResponse, _switchyard_v1_ChatResponse__Output>
      ChunkChoice: MessageTypeDefinition<_switchyard_v1_ChunkChoice, _switchyard_v1_ChunkChoice__Output>
      CompletionChoice: MessageTypeDefinition<_switchyard_v1_CompletionChoice, _switchyard_v1_CompletionChoice__Output>
      CompletionRequest: MessageTypeDefinition<_switchyard_v1_CompletionRequest, _switchyard_v1_CompletionRequest__Output>
      CompletionResponse: MessageTypeDefinition<_switchyard_v1_CompletionResponse, _switchyard_v1_CompletionResponse__Output>
      ContentPart: MessageTypeDefinition<_switchyard_v1_ContentPart, _switchyard_v1_ContentPart__Output>
      ContentParts: MessageTypeDefinition<_switchyard_v1_ContentParts, _switchyard_v1_ContentParts__Output>
      EmbedRequest: MessageTypeDefinition<_switchyard_v1_EmbedRequest, _switchyard_v1_EmbedRequest__Output>
      EmbedResponse: MessageTypeDefinition<_switchyard_v1_EmbedResponse, _switchyard_v1_EmbedResponse__Output>
      Embedding: MessageTypeDefinition<_switchyard_v1_Embedding, _switchyard_v1_Embedding__Output>
      FunctionCall: MessageTypeDefinition<_switchyard_v1_FunctionCall, _switchyard_v1_FunctionCall__Output>
      FunctionDefinition: MessageTypeDefinition<_switchyard_v1_FunctionDefinition, _switchyard_v1_FunctionDefinition__Output>
      ImageUrl: MessageTypeDefinition<_switchyard_v1_ImageUrl, _switchyard_v1_ImageUrl__Output>
      Inference: SubtypeConstructor<typeof grpc.Client, _switchyard_v1_InferenceClient> & { service: _switchyard_v1_InferenceDefinition }
      TokenIds: MessageTypeDefinition<_switchyard_v1_TokenIds, _switchyard_v1_TokenIds__Output>
      Tool: MessageTypeDefinition<_switchyard_v1_Tool, _switchyard_v1_Tool__Output>
      ToolCall: MessageTypeDefinition<_switchyard_v1_ToolCall, _switchyard_v1_ToolCall__Output>
      Usage: MessageTypeDefinition<_switchyard_v1_Usage, _switchyard_v1_Usage__Output>
    }
  }
}

