// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface LoadRequest {
  'executionId'?: (string);
  'namespace'?: (string);
  'checkpointId'?: (string);
}

export interface LoadRequest__Output {
  'executionId': (string);
  'namespace': (string);
  'checkpointId': (string);
}
