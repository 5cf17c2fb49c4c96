// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Checkpoint as _checkpoint_gateway_v1_Checkpoint, Checkpoint__Output as _checkpoint_gateway_v1_Checkpoint__Output } from '../../checkpoint_gateway/v1/Checkpoint.js';

export interface LatestResponse {
  'checkpoint'?: (_checkpoint_gateway_v1_Checkpoint | null);
}

export interface LatestResponse__Output {
  'checkpoint': (_checkpoint_gateway_v1_Checkpoint__Output | null);
}
