// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Checkpoint as _checkpoint_gateway_v1_Checkpoint, Checkpoint__Output as _checkpoint_gateway_v1_Checkpoint__Output } from '../../checkpoint_gateway/v1/Checkpoint.js';
import type { Long } from '@grpc/proto-loader';

export interface SaveRequest {
  'checkpoint'?: (_checkpoint_gateway_v1_Checkpoint | null);
  /**
   * Compare-and-set: the save succeeds only if the lineage's latest version equals
   * this (0 = the lineage must be empty); otherwise ABORTED and nothing is written.
   */
  'expectedVersion'?: (number | string | Long);
  '_expectedVersion'?: "expectedVersion";
}

export interface SaveRequest__Output {
  'checkpoint': (_checkpoint_gateway_v1_Checkpoint__Output | null);
  /**
   * Compare-and-set: the save succeeds only if the lineage's latest version equals
   * this (0 = the lineage must be empty); otherwise ABORTED and nothing is written.
   */
  'expectedVersion'?: (number);
  '_expectedVersion'?: "expectedVersion";
}
