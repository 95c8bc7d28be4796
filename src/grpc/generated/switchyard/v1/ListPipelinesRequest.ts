// Original file: proto/switchyard/v1/pipelines.proto


export interface ListPipelinesRequest {
}

export interface ListPipelinesRequest__Output {
}
