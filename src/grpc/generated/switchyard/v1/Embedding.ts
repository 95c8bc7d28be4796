// Original file: proto/switchyard/v1/inference.proto


export interface Embedding {
  'index'?: (number);
  'embedding'?: (number | string)[];
}

export interface Embedding__Output {
  'index'?: (number);
  'embedding'?: (number)[];
}
