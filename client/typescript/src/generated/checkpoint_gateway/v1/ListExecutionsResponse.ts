// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Execution as _checkpoint_gateway_v1_Execution, Execution__Output as _checkpoint_gateway_v1_Execution__Output } from '../../checkpoint_gateway/v1/Execution.js';

export interface ListExecutionsResponse {
  /**
   * Most recently saved to first.
   */
  'executions'?: (_checkpoint_gateway_v1_Execution)[];
  'nextPageToken'?: (string);
}

export interface ListExecutionsResponse__Output {
  /**
   * Most recently saved to first.
   */
  'executions': (_checkpoint_gateway_v1_Execution__Output)[];
  'nextPageToken': (string);
}
