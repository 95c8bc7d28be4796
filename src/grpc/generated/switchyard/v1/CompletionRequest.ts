// Original file: proto/switchyard/v1/inference.proto

import type { TokenIds as _switchyard_v1_TokenIds, TokenIds__Output as _switchyard_v1_TokenIds__Output } from '../../switchyard/v1/TokenIds.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';
import type { Long } from '@grpc/proto-loader';

export interface CompletionRequest {
  'model'?: (string);
  /**
   * The prompt: one text, a batch of texts, or token ids. Set exactly one of `prompt` and
   * `prompt_token_ids`; a single text is sent upstream as a plain string.
   */
  'prompt'?: (string)[];
  'prompt_token_ids'?: (_switchyard_v1_TokenIds)[];
  'max_tokens'?: (number);
  'temperature'?: (number | string);
  'top_p'?: (number | string);
  'stop'?: (string)[];
  'n'?: (number);
  'seed'?: (number | string | Long);
  'user'?: (string);
  'presence_penalty'?: (number | string);
  'frequency_penalty'?: (number | string);
  'logit_bias'?: ({[key: string]: number | string});
  /**
   * Number of most likely tokens to return log probabilities for (0 to 5).
   */
  'logprobs'?: (number);
  'echo'?: (boolean);
  'best_of'?: (number);
  'suffix'?: (string);
  'extra'?: (_google_protobuf_Struct | null);
  '_max_tokens'?: "max_tokens";
  '_temperature'?: "temperature";
  '_top_p'?: "top_p";
  '_n'?: "n";
  '_seed'?: "seed";
  '_user'?: "user";
  '_presence_penalty'?: "presence_penalty";
  '_frequency_penalty'?: "frequency_penalty";
  '_logprobs'?: "logprobs";
  '_echo'?: "echo";
  '_best_of'?: "best_of";
  '_suffix'?: "suffix";
}

export interface CompletionRequest__Output {
  'model'?: (string);
  /**
   * The prompt: one text, a batch of texts, or token ids. Set exactly one of `prompt` and
   * `prompt_token_ids`; a single text is sent upstream as a plain string.
   */
  'prompt'?: (string)[];
  'prompt_token_ids'?: (_switchyard_v1_TokenIds__Output)[];
  'max_tokens'?: (number);
  'temperature'?: (number);
  'top_p'?: (number);
  'stop'?: (string)[];
  'n'?: (number);
  'seed'?: (number);
  'user'?: (string);
  'presence_penalty'?: (number);
  'frequency_penalty'?: (number);
  'logit_bias'?: ({[key: string]: number});
  /**
   * Number of most likely tokens to return log probabilities for (0 to 5).
   */
  'logprobs'?: (number);
  'echo'?: (boolean);
  'best_of'?: (number);
  'suffix'?: (string);
  'extra'?: (_google_protobuf_Struct__Output);
  '_max_tokens'?: "max_tokens";
  '_temperature'?: "temperature";
  '_top_p'?: "top_p";
  '_n'?: "n";
  '_seed'?: "seed";
  '_user'?: "user";
  '_presence_penalty'?: "presence_penalty";
  '_frequency_penalty'?: "frequency_penalty";
  '_logprobs'?: "logprobs";
  '_echo'?: "echo";
  '_best_of'?: "best_of";
  '_suffix'?: "suffix";
}
