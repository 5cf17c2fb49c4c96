// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { SaveResult as _checkpoint_gateway_v1_SaveResult, SaveResult__Output as _checkpoint_gateway_v1_SaveResult__Output } from '../../checkpoint_gateway/v1/SaveResult.js';

export interface SaveManyResponse {
  /**
   * One per item of the request, in the same order.
   */
  'results'?: (_checkpoint_gateway_v1_SaveResult)[];
}

export interface SaveManyResponse__Output {
  /**
   * One per item of the request, in the same order.
   */
  'results': (_checkpoint_gateway_v1_SaveResult__Output)[];
}
