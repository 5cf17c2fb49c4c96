// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface ListNamespacesRequest {
  'executionId'?: (string);
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface ListNamespacesRequest__Output {
  'executionId': (string);
  'pageSize': (number);
  'pageToken': (string);
}
