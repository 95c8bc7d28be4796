// Original file: proto/switchyard/v1/inference.proto


export interface ImageUrl {
  'url'?: (string);
  'detail'?: (string);
  '_detail'?: "detail";
}

export interface ImageUrl__Output {
  'url'?: (string);
  'detail'?: (string);
  '_detail'?: "detail";
}
