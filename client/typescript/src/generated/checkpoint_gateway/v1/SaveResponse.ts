// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { Long } from '@grpc/proto-loader';

export interface SaveResponse {
  'checkpointId'?: (string);
  'version'?: (number | string | Long);
  'createdAt'?: (_google_protobuf_Timestamp | null);
}

export interface SaveResponse__Output {
  'checkpointId': (string);
  'version': (number);
  'createdAt': (_google_protobuf_Timestamp__Output | null);
}
