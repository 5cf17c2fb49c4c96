// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface DeleteWhereResponse {
  /**
   * How many checkpoints were removed.
   */
  'deleted'?: (number | string | Long);
}

export interface DeleteWhereResponse__Output {
  /**
   * How many checkpoints were removed.
   */
  'deleted': (number);
}
