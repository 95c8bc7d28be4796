// Original file: proto/switchyard/v1/inference.proto


export interface TokenIds {
  'ids'?: (number)[];
}

export interface TokenIds__Output {
  'ids'?: (number)[];
}
