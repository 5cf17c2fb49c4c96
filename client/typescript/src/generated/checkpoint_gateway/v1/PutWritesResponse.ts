// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface PutWritesResponse {
  'stored'?: (number | string | Long);
}

export interface PutWritesResponse__Output {
  'stored': (number);
}
