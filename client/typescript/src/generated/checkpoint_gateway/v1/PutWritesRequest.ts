// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { PendingWrite as _checkpoint_gateway_v1_PendingWrite, PendingWrite__Output as _checkpoint_gateway_v1_PendingWrite__Output } from '../../checkpoint_gateway/v1/PendingWrite.js';

export interface PutWritesRequest {
  'executionId'?: (string);
  'namespace'?: (string);
  'checkpointId'?: (string);
  'writes'?: (_checkpoint_gateway_v1_PendingWrite)[];
}

export interface PutWritesRequest__Output {
  'executionId': (string);
  'namespace': (string);
  'checkpointId': (string);
  'writes': (_checkpoint_gateway_v1_PendingWrite__Output)[];
}
