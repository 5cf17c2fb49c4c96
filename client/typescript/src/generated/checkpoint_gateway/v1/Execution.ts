// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';

export interface Execution {
  'executionId'?: (string);
  /**
   * When its newest checkpoint was saved.
   */
  'updatedAt'?: (_google_protobuf_Timestamp | null);
}

export interface Execution__Output {
  'executionId': (string);
  /**
   * When its newest checkpoint was saved.
   */
  'updatedAt': (_google_protobuf_Timestamp__Output | null);
}
