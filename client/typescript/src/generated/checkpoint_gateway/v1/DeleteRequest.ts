// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface DeleteRequest {
  'executionId'?: (string);
  'namespace'?: (string);
  'checkpointId'?: (string);
}

export interface DeleteRequest__Output {
  'executionId': (string);
  'namespace': (string);
  'checkpointId': (string);
}
