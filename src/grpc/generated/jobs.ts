import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { AttemptError as _switchyard_v1_AttemptError, AttemptError__Output as _switchyard_v1_AttemptError__Output } from './switchyard/v1/AttemptError.js';
import type { CancelJobRequest as _switchyard_v1_CancelJobRequest, CancelJobRequest__Output as _switchyard_v1_CancelJobRequest__Output } from './switchyard/v1/CancelJobRequest.js';
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
import type { GetJobRequest as _switchyard_v1_GetJobRequest, GetJobRequest__Output as _switchyard_v1_GetJobRequest__Output } from './switchyard/v1/GetJobRequest.js';
import type { ImageUrl as _switchyard_v1_ImageUrl, ImageUrl__Output as _switchyard_v1_ImageUrl__Output } from './switchyard/v1/ImageUrl.js';
import type { InferenceClient as _switchyard_v1_InferenceClient, InferenceDefinition as _switchyard_v1_InferenceDefinition } from './switchyard/v1/Inference.js';
import type { Job as _switchyard_v1_Job, Job__Output as _switchyard_v1_Job__Output } from './switchyard/v1/Job.js';
import type { JobError as _switchyard_v1_JobError, JobError__Output as _switchyard_v1_JobError__Output } from './switchyard/v1/JobError.js';
import type { JobsClient as _switchyard_v1_JobsClient, JobsDefinition as _switchyard_v1_JobsDefinition } from './switchyard/v1/Jobs.js';
import type { ListPipelinesRequest as _switchyard_v1_ListPipelinesRequest, ListPipelinesRequest__Output as _switchyard_v1_ListPipelinesRequest__Output } from './switchyard/v1/ListPipelinesRequest.js';
import type { ListPipelinesResponse as _switchyard_v1_ListPipelinesResponse, ListPipelinesResponse__Output as _switchyard_v1_ListPipelinesResponse__Output } from './switchyard/v1/ListPipelinesResponse.js';
import type { PipelineEvent as _switchyard_v1_PipelineEvent, PipelineEvent__Output as _switchyard_v1_PipelineEvent__Output } from './switchyard/v1/PipelineEvent.js';
import type { PipelineInfo as _switchyard_v1_PipelineInfo, PipelineInfo__Output as _switchyard_v1_PipelineInfo__Output } from './switchyard/v1/PipelineInfo.js';
import type { PipelineRun as _switchyard_v1_PipelineRun, PipelineRun__Output as _switchyard_v1_PipelineRun__Output } from './switchyard/v1/PipelineRun.js';
import type { PipelineStepInfo as _switchyard_v1_PipelineStepInfo, PipelineStepInfo__Output as _switchyard_v1_PipelineStepInfo__Output } from './switchyard/v1/PipelineStepInfo.js';
import type { PipelineToken as _switchyard_v1_PipelineToken, PipelineToken__Output as _switchyard_v1_PipelineToken__Output } from './switchyard/v1/PipelineToken.js';
import type { PipelinesClient as _switchyard_v1_PipelinesClient, PipelinesDefinition as _switchyard_v1_PipelinesDefinition } from './switchyard/v1/Pipelines.js';
import type { RunPipelineRequest as _switchyard_v1_RunPipelineRequest, RunPipelineRequest__Output as _switchyard_v1_RunPipelineRequest__Output } from './switchyard/v1/RunPipelineRequest.js';
import type { StepError as _switchyard_v1_StepError, StepError__Output as _switchyard_v1_StepError__Output } from './switchyard/v1/StepError.js';
import type { StepFinished as _switchyard_v1_StepFinished, StepFinished__Output as _switchyard_v1_StepFinished__Output } from './switchyard/v1/StepFinished.js';
import type { StepReport as _switchyard_v1_StepReport, StepReport__Output as _switchyard_v1_StepReport__Output } from './switchyard/v1/StepReport.js';
import type { StepStarted as _switchyard_v1_StepStarted, StepStarted__Output as _switchyard_v1_StepStarted__Output } from './switchyard/v1/StepStarted.js';
import type { SubmitJobRequest as _switchyard_v1_SubmitJobRequest, SubmitJobRequest__Output as _switchyard_v1_SubmitJobRequest__Output } from './switchyard/v1/SubmitJobRequest.js';
import type { TokenIds as _switchyard_v1_TokenIds, TokenIds__Output as _switchyard_v1_TokenIds__Output } from './switchyard/v1/TokenIds.js';
import type { Tool as _switchyard_v1_Tool, Tool__Output as _switchyard_v1_Tool__Output } from './switchyard/v1/Tool.js';
import type { ToolCall as _switchyard_v1_ToolCall, ToolCall__Output as _switchyard_v1_ToolCall__Output } from './switchyard/v1/ToolCall.js';
import type { Usage as _switchyard_v1_Usage, Usage__Output as _switchyard_v1_Usage__Output } from './switchyard/v1/Usage.js';
import type { WatchJobRequest as _switchyard_v1_WatchJobRequest, WatchJobRequest__Output as _switchyard_v1_WatchJobRequest__Output } from './switchyard/v1/WatchJobRequest.js';
import type { WebhookDelivery as _switchyard_v1_WebhookDelivery, WebhookDelivery__Output as _switchyard_v1_WebhookDelivery__Output } from './switchyard/v1/WebhookDelivery.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<_google_protobuf_ListValue, _google_protobuf_ListValue__Output>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<_google_protobuf_Struct, _google_protobuf_Struct__Output>
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
      Value: MessageTypeDefinition<_google_protobuf_Value, _google_protobuf_Value__Output>
    }
  }
  switchyard: {
    v1: {
      AttemptError: MessageTypeDefinition<_switchyard_v1_AttemptError, _switchyard_v1_AttemptError__Output>
      CancelJobRequest: MessageTypeDefinition<_switchyard_v1_CancelJobRequest, _switchyard_v1_CancelJobRequest__Output>
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
      GetJobRequest: MessageTypeDefinition<_switchyard_v1_GetJobRequest, _switchyard_v1_GetJobRequest__Output>
      ImageUrl: MessageTypeDefinition<_switchyard_v1_ImageUrl, _switchyard_v1_ImageUrl__Output>
      Inference: SubtypeConstructor<typeof grpc.Client, _switchyard_v1_InferenceClient> & { service: _switchyard_v1_InferenceDefinition }
      Job: MessageTypeDefinition<_switchyard_v1_Job, _switchyard_v1_Job__Output>
      JobError: MessageTypeDefinition<_switchyard_v1_JobError, _switchyard_v1_JobError__Output>
      JobStatus: EnumTypeDefinition
      Jobs: SubtypeConstructor<typeof grpc.Client, _switchyard_v1_JobsClient> & { service: _switchyard_v1_JobsDefinition }
      ListPipelinesRequest: MessageTypeDefinition<_switchyard_v1_ListPipelinesRequest, _switchyard_v1_ListPipelinesRequest__Output>
      ListPipelinesResponse: MessageTypeDefinition<_switchyard_v1_ListPipelinesResponse, _switchyard_v1_ListPipelinesResponse__Output>
      PipelineEvent: MessageTypeDefinition<_switchyard_v1_PipelineEvent, _switchyard_v1_PipelineEvent__Output>
      PipelineInfo: MessageTypeDefinition<_switchyard_v1_PipelineInfo, _switchyard_v1_PipelineInfo__Output>
      PipelineRun: MessageTypeDefinition<_switchyard_v1_PipelineRun, _switchyard_v1_PipelineRun__Output>
      PipelineStepInfo: MessageTypeDefinition<_switchyard_v1_PipelineStepInfo, _switchyard_v1_PipelineStepInfo__Output>
      PipelineToken: MessageTypeDefinition<_switchyard_v1_PipelineToken, _switchyard_v1_PipelineToken__Output>
      Pipelines: SubtypeConstructor<typeof grpc.Client, _switchyard_v1_PipelinesClient> & { service: _switchyard_v1_PipelinesDefinition }
      RunPipelineRequest: MessageTypeDefinition<_switchyard_v1_RunPipelineRequest, _switchyard_v1_RunPipelineRequest__Output>
      StepError: MessageTypeDefinition<_switchyard_v1_StepError, _switchyard_v1_StepError__Output>
      StepFinished: MessageTypeDefinition<_switchyard_v1_StepFinished, _switchyard_v1_StepFinished__Output>
      StepReport: MessageTypeDefinition<_switchyard_v1_StepReport, _switchyard_v1_StepReport__Output>
      StepStarted: MessageTypeDefinition<_switchyard_v1_StepStarted, _switchyard_v1_StepStarted__Output>
      SubmitJobRequest: MessageTypeDefinition<_switchyard_v1_SubmitJobRequest, _switchyard_v1_SubmitJobRequest__Output>
      TokenIds: MessageTypeDefinition<_switchyard_v1_TokenIds, _switchyard_v1_TokenIds__Output>
      Tool: MessageTypeDefinition<_switchyard_v1_Tool, _switchyard_v1_Tool__Output>
      ToolCall: MessageTypeDefinition<_switchyard_v1_ToolCall, _switchyard_v1_ToolCall__Output>
      Usage: MessageTypeDefinition<_switchyard_v1_Usage, _switchyard_v1_Usage__Output>
      WatchJobRequest: MessageTypeDefinition<_switchyard_v1_WatchJobRequest, _switchyard_v1_WatchJobRequest__Output>
      WebhookDelivery: MessageTypeDefinition<_switchyard_v1_WebhookDelivery, _switchyard_v1_WebhookDelivery__Output>
    }
  }
}

