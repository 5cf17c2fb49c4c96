// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface LatestRequest {
  'executionId'?: (string);
  'namespace'?: (string);
}

export interface LatestRequest__Output {
  'executionId': (string);
  'namespace': (string);
}
