// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface DeleteResponse {
  'deleted'?: (boolean);
}

export interface DeleteResponse__Output {
  'deleted': (boolean);
}
