// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface PruneResponse {
  /**
   * How many checkpoints were removed.
   */
  'deleted'?: (number | string | Long);
}

export interface PruneResponse__Output {
  /**
   * How many checkpoints were removed.
   */
  'deleted': (number);
}
