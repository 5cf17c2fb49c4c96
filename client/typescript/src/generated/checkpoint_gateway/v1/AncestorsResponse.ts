// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Checkpoint as _checkpoint_gateway_v1_Checkpoint, Checkpoint__Output as _checkpoint_gateway_v1_Checkpoint__Output } from '../../checkpoint_gateway/v1/Checkpoint.js';

export interface AncestorsResponse {
  /**
   * Newest first: the parent of the previous one.
   */
  'checkpoints'?: (_checkpoint_gateway_v1_Checkpoint)[];
  'nextPageToken'?: (string);
}

export interface AncestorsResponse__Output {
  /**
   * Newest first: the parent of the previous one.
   */
  'checkpoints': (_checkpoint_gateway_v1_Checkpoint__Output)[];
  'nextPageToken': (string);
}
