// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { PruneStrategy as _checkpoint_gateway_v1_PruneStrategy, PruneStrategy__Output as _checkpoint_gateway_v1_PruneStrategy__Output } from '../../checkpoint_gateway/v1/PruneStrategy.js';

export interface PruneRequest {
  'executionIds'?: (string)[];
  'strategy'?: (_checkpoint_gateway_v1_PruneStrategy);
}

export interface PruneRequest__Output {
  'executionIds': (string)[];
  'strategy': (_checkpoint_gateway_v1_PruneStrategy__Output);
}
