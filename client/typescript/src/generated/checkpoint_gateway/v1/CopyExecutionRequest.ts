// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface CopyExecutionRequest {
  'sourceExecutionId'?: (string);
  'targetExecutionId'?: (string);
}

export interface CopyExecutionRequest__Output {
  'sourceExecutionId': (string);
  'targetExecutionId': (string);
}
