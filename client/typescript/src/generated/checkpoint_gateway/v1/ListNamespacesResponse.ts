// Original file: proto/checkpoint_gateway/v1/checkpoint.proto


export interface ListNamespacesResponse {
  'namespaces'?: (string)[];
  'nextPageToken'?: (string);
}

export interface ListNamespacesResponse__Output {
  'namespaces': (string)[];
  'nextPageToken': (string);
}
