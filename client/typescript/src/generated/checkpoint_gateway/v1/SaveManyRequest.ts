// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { SaveRequest as _checkpoint_gateway_v1_SaveRequest, SaveRequest__Output as _checkpoint_gateway_v1_SaveRequest__Output } from '../../checkpoint_gateway/v1/SaveRequest.js';

export interface SaveManyRequest {
  'saves'?: (_checkpoint_gateway_v1_SaveRequest)[];
}

export interface SaveManyRequest__Output {
  'saves': (_checkpoint_gateway_v1_SaveRequest__Output)[];
}
