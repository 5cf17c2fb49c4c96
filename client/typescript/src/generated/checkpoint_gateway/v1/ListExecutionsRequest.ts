// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface ListExecutionsRequest {
  'pageSize'?: (number);
  'pageToken'?: (string);
}

export interface ListExecutionsRequest__Output {
  'pageSize': (number);
  'pageToken': (string);
}
