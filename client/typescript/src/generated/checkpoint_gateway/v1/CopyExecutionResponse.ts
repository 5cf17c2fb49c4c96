// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Long } from '@grpc/proto-loader';

export interface CopyExecutionResponse {
  /**
   * How many checkpoints were copied.
   */
  'copied'?: (number | string | Long);
}

export interface CopyExecutionResponse__Output {
  /**
   * How many checkpoints were copied.
   */
  'copied': (number);
}
