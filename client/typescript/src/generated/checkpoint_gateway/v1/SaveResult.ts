// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { SaveResponse as _checkpoint_gateway_v1_SaveResponse, SaveResponse__Output as _checkpoint_gateway_v1_SaveResponse__Output } from '../../checkpoint_gateway/v1/SaveResponse.js';
import type { ItemError as _checkpoint_gateway_v1_ItemError, ItemError__Output as _checkpoint_gateway_v1_ItemError__Output } from '../../checkpoint_gateway/v1/ItemError.js';

export interface SaveResult {
  'saved'?: (_checkpoint_gateway_v1_SaveResponse | null);
  'error'?: (_checkpoint_gateway_v1_ItemError | null);
  'result'?: "saved"|"error";
}

export interface SaveResult__Output {
  'saved'?: (_checkpoint_gateway_v1_SaveResponse__Output | null);
  'error'?: (_checkpoint_gateway_v1_ItemError__Output | null);
  'result'?: "saved"|"error";
}
