// Original file: proto/switchyard/v1/inference.proto

import type { ContentPart as _switchyard_v1_ContentPart, ContentPart__Output as _switchyard_v1_ContentPart__Output } from '../../switchyard/v1/ContentPart.js';

export interface ContentParts {
  'parts'?: (_switchyard_v1_ContentPart)[];
}

export interface ContentParts__Output {
  'parts'?: (_switchyard_v1_ContentPart__Output)[];
}
