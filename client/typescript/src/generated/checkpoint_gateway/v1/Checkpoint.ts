// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.js';
import type { PendingWrite as _checkpoint_gateway_v1_PendingWrite, PendingWrite__Output as _checkpoint_gateway_v1_PendingWrite__Output } from '../../checkpoint_gateway/v1/PendingWrite.js';
import type { Channel as _checkpoint_gateway_v1_Channel, Channel__Output as _checkpoint_gateway_v1_Channel__Output } from '../../checkpoint_gateway/v1/Channel.js';
import type { Long } from '@grpc/proto-loader';

export interface Checkpoint {
  /**
   * The run or thread (LangGraph thread_id, spring-ai threadId, langgraphgo execution id).
   */
  'executionId'?: (string);
  /**
   * Sub-graph namespace (LangGraph checkpoint_ns); "" is the root graph.
   */
  'namespace'?: (string);
  /**
   * Unique within (execution_id, namespace). Empty on Save: the gateway assigns a
   * time-ordered UUIDv7.
   */
  'checkpointId'?: (string);
  /**
   * The checkpoint this one follows; "" for the first one.
   */
  'parentId'?: (string);
  /**
   * Opaque state bytes; the gateway never parses them.
   */
  'state'?: (Buffer | Uint8Array | string);
  /**
   * Media type of state, e.g. "application/json" or "application/msgpack".
   */
  'contentType'?: (string);
  /**
   * A JSON object (UTF-8 text); "" means {}. Top-level keys can be filtered on in List.
   * At most 64 levels of nesting, and strings of Unicode text only (no lone surrogate
   * escapes such as "\ud800"); otherwise INVALID_ARGUMENT.
   */
  'metadata'?: (string);
  /**
   * The node that just ran, and the nodes to run next (the resume point).
   */
  'node'?: (string);
  'nextNodes'?: (string)[];
  /**
   * Set by the gateway on Save. Ignored in Save and SaveMany requests, whatever it holds
   * (it is not even parsed), so a checkpoint read back may be sent again as it is.
   */
  'createdAt'?: (_google_protobuf_Timestamp | null);
  /**
   * Set by the gateway on Save: 1 for the first checkpoint of a lineage, then +1.
   * Ignored in Save and SaveMany requests (use expected_version for compare-and-set).
   */
  'version'?: (number | string | Long);
  /**
   * Filled by Load and Latest (and List, Search and Ancestors when asked for). Ignored
   * in Save and SaveMany requests (use PutWrites).
   */
  'pendingWrites'?: (_checkpoint_gateway_v1_PendingWrite)[];
  /**
   * Named parts of the state, each stored once per version and shared by the
   * checkpoints of the lineage that carry that version (LangGraph's channel blobs), so
   * a save sends and stores only the channels that changed. On Save, a channel with a
   * value stores it; one without refers to the value stored earlier in this lineage
   * (execution_id, namespace) under the same name and version (NOT_FOUND when there is
   * none). Load, Latest, List and Search always return every channel with its value.
   */
  'channels'?: (_checkpoint_gateway_v1_Channel)[];
}

export interface Checkpoint__Output {
  /**
   * The run or thread (LangGraph thread_id, spring-ai threadId, langgraphgo execution id).
   */
  'executionId': (string);
  /**
   * Sub-graph namespace (LangGraph checkpoint_ns); "" is the root graph.
   */
  'namespace': (string);
  /**
   * Unique within (execution_id, namespace). Empty on Save: the gateway assigns a
   * time-ordered UUIDv7.
   */
  'checkpointId': (string);
  /**
   * The checkpoint this one follows; "" for the first one.
   */
  'parentId': (string);
  /**
   * Opaque state bytes; the gateway never parses them.
   */
  'state': (Buffer);
  /**
   * Media type of state, e.g. "application/json" or "application/msgpack".
   */
  'contentType': (string);
  /**
   * A JSON object (UTF-8 text); "" means {}. Top-level keys can be filtered on in List.
   * At most 64 levels of nesting, and strings of Unicode text only (no lone surrogate
   * escapes such as "\ud800"); otherwise INVALID_ARGUMENT.
   */
  'metadata': (string);
  /**
   * The node that just ran, and the nodes to run next (the resume point).
   */
  'node': (string);
  'nextNodes': (string)[];
  /**
   * Set by the gateway on Save. Ignored in Save and SaveMany requests, whatever it holds
   * (it is not even parsed), so a checkpoint read back may be sent again as it is.
   */
  'createdAt': (_google_protobuf_Timestamp__Output | null);
  /**
   * Set by the gateway on Save: 1 for the first checkpoint of a lineage, then +1.
   * Ignored in Save and SaveMany requests (use expected_version for compare-and-set).
   */
  'version': (number);
  /**
   * Filled by Load and Latest (and List, Search and Ancestors when asked for). Ignored
   * in Save and SaveMany requests (use PutWrites).
   */
  'pendingWrites': (_checkpoint_gateway_v1_PendingWrite__Output)[];
  /**
   * Named parts of the state, each stored once per version and shared by the
   * checkpoints of the lineage that carry that version (LangGraph's channel blobs), so
   * a save sends and stores only the channels that changed. On Save, a channel with a
   * value stores it; one without refers to the value stored earlier in this lineage
   * (execution_id, namespace) under the same name and version (NOT_FOUND when there is
   * none). Load, Latest, List and Search always return every channel with its value.
   */
  'channels': (_checkpoint_gateway_v1_Channel__Output)[];
}
