// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Checkpoint as _checkpoint_gateway_v1_Checkpoint, Checkpoint__Output as _checkpoint_gateway_v1_Checkpoint__Output } from '../../checkpoint_gateway/v1/Checkpoint.js';

export interface ListResponse {
  /**
   * Newest first.
   */
  'checkpoints'?: (_checkpoint_gateway_v1_Checkpoint)[];
  /**
   * "" when there are no more pages.
   */
  'nextPageToken'?: (string);
}

export interface ListResponse__Output {
  /**
   * Newest first.
   */
  'checkpoints': (_checkpoint_gateway_v1_Checkpoint__Output)[];
  /**
   * "" when there are no more pages.
   */
  'nextPageToken': (string);
}
