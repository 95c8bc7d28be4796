// Original file: proto/switchyard/v1/inference.proto

import type { ImageUrl as _switchyard_v1_ImageUrl, ImageUrl__Output as _switchyard_v1_ImageUrl__Output } from '../../switchyard/v1/ImageUrl.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from '../../google/protobuf/Struct.js';

export interface ContentPart {
  /**
   * "text", "image_url", "input_audio", "file", …
   */
  'type'?: (string);
  'text'?: (string);
  'image_url'?: (_switchyard_v1_ImageUrl | null);
  /**
   * Any other field of the part (e.g. `input_audio`).
   */
  'extra'?: (_google_protobuf_Struct | null);
  '_text'?: "text";
}

export interface ContentPart__Output {
  /**
   * "text", "image_url", "input_audio", "file", …
   */
  'type'?: (string);
  'text'?: (string);
  'image_url'?: (_switchyard_v1_ImageUrl__Output);
  /**
   * Any other field of the part (e.g. `input_audio`).
   */
  'extra'?: (_google_protobuf_Struct__Output);
  '_text'?: "text";
}
