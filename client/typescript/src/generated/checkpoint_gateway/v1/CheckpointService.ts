// Original file: proto/checkpoint_gateway/v1/checkpoint.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AncestorsRequest as _checkpoint_gateway_v1_AncestorsRequest, AncestorsRequest__Output as _checkpoint_gateway_v1_AncestorsRequest__Output } from '../../checkpoint_gateway/v1/AncestorsRequest.js';
import type { AncestorsResponse as _checkpoint_gateway_v1_AncestorsResponse, AncestorsResponse__Output as _checkpoint_gateway_v1_AncestorsResponse__Output } from '../../checkpoint_gateway/v1/AncestorsResponse.js';
import type { ClearRequest as _checkpoint_gateway_v1_ClearRequest, ClearRequest__Output as _checkpoint_gateway_v1_ClearRequest__Output } from '../../checkpoint_gateway/v1/ClearRequest.js';
import type { ClearResponse as _checkpoint_gateway_v1_ClearResponse, ClearResponse__Output as _checkpoint_gateway_v1_ClearResponse__Output } from '../../checkpoint_gateway/v1/ClearResponse.js';
import type { CopyExecutionRequest as _checkpoint_gateway_v1_CopyExecutionRequest, CopyExecutionRequest__Output as _checkpoint_gateway_v1_CopyExecutionRequest__Output } from '../../checkpoint_gateway/v1/CopyExecutionRequest.js';
import type { CopyExecutionResponse as _checkpoint_gateway_v1_CopyExecutionResponse, CopyExecutionResponse__Output as _checkpoint_gateway_v1_CopyExecutionResponse__Output } from '../../checkpoint_gateway/v1/CopyExecutionResponse.js';
import type { DeleteRequest as _checkpoint_gateway_v1_DeleteRequest, DeleteRequest__Output as _checkpoint_gateway_v1_DeleteRequest__Output } from '../../checkpoint_gateway/v1/DeleteRequest.js';
import type { DeleteResponse as _checkpoint_gateway_v1_DeleteResponse, DeleteResponse__Output as _checkpoint_gateway_v1_DeleteResponse__Output } from '../../checkpoint_gateway/v1/DeleteResponse.js';
import type { DeleteWhereRequest as _checkpoint_gateway_v1_DeleteWhereRequest, DeleteWhereRequest__Output as _checkpoint_gateway_v1_DeleteWhereRequest__Output } from '../../checkpoint_gateway/v1/DeleteWhereRequest.js';
import type { DeleteWhereResponse as _checkpoint_gateway_v1_DeleteWhereResponse, DeleteWhereResponse__Output as _checkpoint_gateway_v1_DeleteWhereResponse__Output } from '../../checkpoint_gateway/v1/DeleteWhereResponse.js';
import type { LatestRequest as _checkpoint_gateway_v1_LatestRequest, LatestRequest__Output as _checkpoint_gateway_v1_LatestRequest__Output } from '../../checkpoint_gateway/v1/LatestRequest.js';
import type { LatestResponse as _checkpoint_gateway_v1_LatestResponse, LatestResponse__Output as _checkpoint_gateway_v1_LatestResponse__Output } from '../../checkpoint_gateway/v1/LatestResponse.js';
import type { ListExecutionsRequest as _checkpoint_gateway_v1_ListExecutionsRequest, ListExecutionsRequest__Output as _checkpoint_gateway_v1_ListExecutionsRequest__Output } from '../../checkpoint_gateway/v1/ListExecutionsRequest.js';
import type { ListExecutionsResponse as _checkpoint_gateway_v1_ListExecutionsResponse, ListExecutionsResponse__Output as _checkpoint_gateway_v1_ListExecutionsResponse__Output } from '../../checkpoint_gateway/v1/ListExecutionsResponse.js';
import type { ListNamespacesRequest as _checkpoint_gateway_v1_ListNamespacesRequest, ListNamespacesRequest__Output as _checkpoint_gateway_v1_ListNamespacesRequest__Output } from '../../checkpoint_gateway/v1/ListNamespacesRequest.js';
import type { ListNamespacesResponse as _checkpoint_gateway_v1_ListNamespacesResponse, ListNamespacesResponse__Output as _checkpoint_gateway_v1_ListNamespacesResponse__Output } from '../../checkpoint_gateway/v1/ListNamespacesResponse.js';
import type { ListRequest as _checkpoint_gateway_v1_ListRequest, ListRequest__Output as _checkpoint_gateway_v1_ListRequest__Output } from '../../checkpoint_gateway/v1/ListRequest.js';
import type { ListResponse as _checkpoint_gateway_v1_ListResponse, ListResponse__Output as _checkpoint_gateway_v1_ListResponse__Output } from '../../checkpoint_gateway/v1/ListResponse.js';
import type { LoadRequest as _checkpoint_gateway_v1_LoadRequest, LoadRequest__Output as _checkpoint_gateway_v1_LoadRequest__Output } from '../../checkpoint_gateway/v1/LoadRequest.js';
import type { LoadResponse as _checkpoint_gateway_v1_LoadResponse, LoadResponse__Output as _checkpoint_gateway_v1_LoadResponse__Output } from '../../checkpoint_gateway/v1/LoadResponse.js';
import type { PruneRequest as _checkpoint_gateway_v1_PruneRequest, PruneRequest__Output as _checkpoint_gateway_v1_PruneRequest__Output } from '../../checkpoint_gateway/v1/PruneRequest.js';
import type { PruneResponse as _checkpoint_gateway_v1_PruneResponse, PruneResponse__Output as _checkpoint_gateway_v1_PruneResponse__Output } from '../../checkpoint_gateway/v1/PruneResponse.js';
import type { PutWritesRequest as _checkpoint_gateway_v1_PutWritesRequest, PutWritesRequest__Output as _checkpoint_gateway_v1_PutWritesRequest__Output } from '../../checkpoint_gateway/v1/PutWritesRequest.js';
import type { PutWritesResponse as _checkpoint_gateway_v1_PutWritesResponse, PutWritesResponse__Output as _checkpoint_gateway_v1_PutWritesResponse__Output } from '../../checkpoint_gateway/v1/PutWritesResponse.js';
import type { SaveManyRequest as _checkpoint_gateway_v1_SaveManyRequest, SaveManyRequest__Output as _checkpoint_gateway_v1_SaveManyRequest__Output } from '../../checkpoint_gateway/v1/SaveManyRequest.js';
import type { SaveManyResponse as _checkpoint_gateway_v1_SaveManyResponse, SaveManyResponse__Output as _checkpoint_gateway_v1_SaveManyResponse__Output } from '../../checkpoint_gateway/v1/SaveManyResponse.js';
import type { SaveRequest as _checkpoint_gateway_v1_SaveRequest, SaveRequest__Output as _checkpoint_gateway_v1_SaveRequest__Output } from '../../checkpoint_gateway/v1/SaveRequest.js';
import type { SaveResponse as _checkpoint_gateway_v1_SaveResponse, SaveResponse__Output as _checkpoint_gateway_v1_SaveResponse__Output } from '../../checkpoint_gateway/v1/SaveResponse.js';
import type { SearchRequest as _checkpoint_gateway_v1_SearchRequest, SearchRequest__Output as _checkpoint_gateway_v1_SearchRequest__Output } from '../../checkpoint_gateway/v1/SearchRequest.js';

export interface CheckpointServiceClient extends grpc.Client {
  /**
   * Ancestors walks a checkpoint's parent chain (parent_id links), newest first, one
   * page at a time: what LangGraph's DeltaChannel reads to rebuild a channel in one
   * round trip.
   */
  Ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  Ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  Ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  Ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Ancestors walks a checkpoint's parent chain (parent_id links), newest first, one
   * page at a time: what LangGraph's DeltaChannel reads to rebuild a channel in one
   * round trip.
   */
  ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  ancestors(argument: _checkpoint_gateway_v1_AncestorsRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_AncestorsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Clear removes every checkpoint of an execution (one namespace, or all of them).
   */
  Clear(argument: _checkpoint_gateway_v1_ClearRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  Clear(argument: _checkpoint_gateway_v1_ClearRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  Clear(argument: _checkpoint_gateway_v1_ClearRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  Clear(argument: _checkpoint_gateway_v1_ClearRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Clear removes every checkpoint of an execution (one namespace, or all of them).
   */
  clear(argument: _checkpoint_gateway_v1_ClearRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  clear(argument: _checkpoint_gateway_v1_ClearRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  clear(argument: _checkpoint_gateway_v1_ClearRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  clear(argument: _checkpoint_gateway_v1_ClearRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ClearResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * CopyExecution copies an execution to a new execution id: every namespace, every
   * checkpoint with its id, parent, version, created_at, channels and pending writes.
   * The target must hold no checkpoints (else ABORTED); a missing source is NOT_FOUND.
   * A reader never sees a half-done copy as complete (see the README per backend).
   */
  CopyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  CopyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  CopyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  CopyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * CopyExecution copies an execution to a new execution id: every namespace, every
   * checkpoint with its id, parent, version, created_at, channels and pending writes.
   * The target must hold no checkpoints (else ABORTED); a missing source is NOT_FOUND.
   * A reader never sees a half-done copy as complete (see the README per backend).
   */
  copyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  copyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  copyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  copyExecution(argument: _checkpoint_gateway_v1_CopyExecutionRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_CopyExecutionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Delete removes one checkpoint and its pending writes. Deleting a missing
   * checkpoint succeeds with deleted = false.
   */
  Delete(argument: _checkpoint_gateway_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _checkpoint_gateway_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _checkpoint_gateway_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  Delete(argument: _checkpoint_gateway_v1_DeleteRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Delete removes one checkpoint and its pending writes. Deleting a missing
   * checkpoint succeeds with deleted = false.
   */
  delete(argument: _checkpoint_gateway_v1_DeleteRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _checkpoint_gateway_v1_DeleteRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _checkpoint_gateway_v1_DeleteRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  delete(argument: _checkpoint_gateway_v1_DeleteRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * DeleteWhere removes every checkpoint whose metadata matches a filter, with its
   * pending writes, across executions or within one (LangGraph's delete_for_runs).
   */
  DeleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  DeleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  DeleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  DeleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  /**
   * DeleteWhere removes every checkpoint whose metadata matches a filter, with its
   * pending writes, across executions or within one (LangGraph's delete_for_runs).
   */
  deleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  deleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  deleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  deleteWhere(argument: _checkpoint_gateway_v1_DeleteWhereRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_DeleteWhereResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Latest returns the newest checkpoint of a lineage with its pending writes.
   */
  Latest(argument: _checkpoint_gateway_v1_LatestRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  Latest(argument: _checkpoint_gateway_v1_LatestRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  Latest(argument: _checkpoint_gateway_v1_LatestRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  Latest(argument: _checkpoint_gateway_v1_LatestRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Latest returns the newest checkpoint of a lineage with its pending writes.
   */
  latest(argument: _checkpoint_gateway_v1_LatestRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  latest(argument: _checkpoint_gateway_v1_LatestRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  latest(argument: _checkpoint_gateway_v1_LatestRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  latest(argument: _checkpoint_gateway_v1_LatestRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_LatestResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * List returns checkpoints newest first, one page at a time.
   */
  List(argument: _checkpoint_gateway_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _checkpoint_gateway_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _checkpoint_gateway_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _checkpoint_gateway_v1_ListRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  /**
   * List returns checkpoints newest first, one page at a time.
   */
  list(argument: _checkpoint_gateway_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _checkpoint_gateway_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _checkpoint_gateway_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _checkpoint_gateway_v1_ListRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ListExecutions returns the executions (threads) that hold checkpoints, the most
   * recently saved to first, one page at a time.
   */
  ListExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  ListExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  ListExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  ListExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ListExecutions returns the executions (threads) that hold checkpoints, the most
   * recently saved to first, one page at a time.
   */
  listExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  listExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  listExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  listExecutions(argument: _checkpoint_gateway_v1_ListExecutionsRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListExecutionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * ListNamespaces returns the namespaces of an execution that hold checkpoints, in code
   * point order ("" first), one page at a time.
   */
  ListNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  ListNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  ListNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  ListNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * ListNamespaces returns the namespaces of an execution that hold checkpoints, in code
   * point order ("" first), one page at a time.
   */
  listNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  listNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  listNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  listNamespaces(argument: _checkpoint_gateway_v1_ListNamespacesRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListNamespacesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Load returns one checkpoint with its pending writes.
   */
  Load(argument: _checkpoint_gateway_v1_LoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _checkpoint_gateway_v1_LoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _checkpoint_gateway_v1_LoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _checkpoint_gateway_v1_LoadRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Load returns one checkpoint with its pending writes.
   */
  load(argument: _checkpoint_gateway_v1_LoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _checkpoint_gateway_v1_LoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _checkpoint_gateway_v1_LoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _checkpoint_gateway_v1_LoadRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Prune thins executions: keep the latest checkpoint of each namespace (with its
   * writes and channels), or delete everything.
   */
  Prune(argument: _checkpoint_gateway_v1_PruneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  Prune(argument: _checkpoint_gateway_v1_PruneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  Prune(argument: _checkpoint_gateway_v1_PruneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  Prune(argument: _checkpoint_gateway_v1_PruneRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Prune thins executions: keep the latest checkpoint of each namespace (with its
   * writes and channels), or delete everything.
   */
  prune(argument: _checkpoint_gateway_v1_PruneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _checkpoint_gateway_v1_PruneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _checkpoint_gateway_v1_PruneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _checkpoint_gateway_v1_PruneRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_PruneResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * PutWrites stores pending writes of a task against a checkpoint. A write is keyed
   * by (task_id, idx) and never duplicated: for idx >= 0 the first write of a key wins
   * (a retry changes nothing); a special write (idx < 0: LangGraph's error, interrupt,
   * resume...) replaces the earlier one. The checkpoint need not be saved yet: a runtime
   * may send a step's writes before, or alongside, the save of its checkpoint, and Load
   * and Latest return them once it is saved. Writes whose checkpoint never comes go with
   * Delete of that id, Clear, Prune, retention and TTL.
   */
  PutWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  PutWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  PutWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  PutWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * PutWrites stores pending writes of a task against a checkpoint. A write is keyed
   * by (task_id, idx) and never duplicated: for idx >= 0 the first write of a key wins
   * (a retry changes nothing); a special write (idx < 0: LangGraph's error, interrupt,
   * resume...) replaces the earlier one. The checkpoint need not be saved yet: a runtime
   * may send a step's writes before, or alongside, the save of its checkpoint, and Load
   * and Latest return them once it is saved. Writes whose checkpoint never comes go with
   * Delete of that id, Clear, Prune, retention and TTL.
   */
  putWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  putWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  putWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  putWrites(argument: _checkpoint_gateway_v1_PutWritesRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_PutWritesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Save stores a new checkpoint. Saving the same checkpoint_id again with the same
   * content is a no-op that returns the stored version (so retries are safe); with
   * different content it is ABORTED.
   */
  Save(argument: _checkpoint_gateway_v1_SaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  Save(argument: _checkpoint_gateway_v1_SaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  Save(argument: _checkpoint_gateway_v1_SaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  Save(argument: _checkpoint_gateway_v1_SaveRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Save stores a new checkpoint. Saving the same checkpoint_id again with the same
   * content is a no-op that returns the stored version (so retries are safe); with
   * different content it is ABORTED.
   */
  save(argument: _checkpoint_gateway_v1_SaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  save(argument: _checkpoint_gateway_v1_SaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  save(argument: _checkpoint_gateway_v1_SaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  save(argument: _checkpoint_gateway_v1_SaveRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * SaveMany stores several checkpoints in one call, in order, each on its own: every
   * item gets its SaveResponse or its own error (the status Save would have returned),
   * so one conflict does not fail the rest. Saves of one lineage get consecutive
   * versions in request order. The call as a whole fails only when it is refused
   * (INVALID_ARGUMENT: more items than the gateway's max_batch_items) or the backend
   * cannot be reached (UNAVAILABLE; retrying is safe when every item has an id).
   */
  SaveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  SaveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  SaveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  SaveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  /**
   * SaveMany stores several checkpoints in one call, in order, each on its own: every
   * item gets its SaveResponse or its own error (the status Save would have returned),
   * so one conflict does not fail the rest. Saves of one lineage get consecutive
   * versions in request order. The call as a whole fails only when it is refused
   * (INVALID_ARGUMENT: more items than the gateway's max_batch_items) or the backend
   * cannot be reached (UNAVAILABLE; retrying is safe when every item has an id).
   */
  saveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  saveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  saveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  saveMany(argument: _checkpoint_gateway_v1_SaveManyRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_SaveManyResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Search lists checkpoints across every execution and namespace, newest first
   * (created_at, then execution, namespace and version, descending), filtered by
   * metadata.
   */
  Search(argument: _checkpoint_gateway_v1_SearchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  Search(argument: _checkpoint_gateway_v1_SearchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  Search(argument: _checkpoint_gateway_v1_SearchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  Search(argument: _checkpoint_gateway_v1_SearchRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Search lists checkpoints across every execution and namespace, newest first
   * (created_at, then execution, namespace and version, descending), filtered by
   * metadata.
   */
  search(argument: _checkpoint_gateway_v1_SearchRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  search(argument: _checkpoint_gateway_v1_SearchRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  search(argument: _checkpoint_gateway_v1_SearchRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  search(argument: _checkpoint_gateway_v1_SearchRequest, callback: grpc.requestCallback<_checkpoint_gateway_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface CheckpointServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Ancestors walks a checkpoint's parent chain (parent_id links), newest first, one
   * page at a time: what LangGraph's DeltaChannel reads to rebuild a channel in one
   * round trip.
   */
  Ancestors: grpc.handleUnaryCall<_checkpoint_gateway_v1_AncestorsRequest__Output, _checkpoint_gateway_v1_AncestorsResponse>;
  
  /**
   * Clear removes every checkpoint of an execution (one namespace, or all of them).
   */
  Clear: grpc.handleUnaryCall<_checkpoint_gateway_v1_ClearRequest__Output, _checkpoint_gateway_v1_ClearResponse>;
  
  /**
   * CopyExecution copies an execution to a new execution id: every namespace, every
   * checkpoint with its id, parent, version, created_at, channels and pending writes.
   * The target must hold no checkpoints (else ABORTED); a missing source is NOT_FOUND.
   * A reader never sees a half-done copy as complete (see the README per backend).
   */
  CopyExecution: grpc.handleUnaryCall<_checkpoint_gateway_v1_CopyExecutionRequest__Output, _checkpoint_gateway_v1_CopyExecutionResponse>;
  
  /**
   * Delete removes one checkpoint and its pending writes. Deleting a missing
   * checkpoint succeeds with deleted = false.
   */
  Delete: grpc.handleUnaryCall<_checkpoint_gateway_v1_DeleteRequest__Output, _checkpoint_gateway_v1_DeleteResponse>;
  
  /**
   * DeleteWhere removes every checkpoint whose metadata matches a filter, with its
   * pending writes, across executions or within one (LangGraph's delete_for_runs).
   */
  DeleteWhere: grpc.handleUnaryCall<_checkpoint_gateway_v1_DeleteWhereRequest__Output, _checkpoint_gateway_v1_DeleteWhereResponse>;
  
  /**
   * Latest returns the newest checkpoint of a lineage with its pending writes.
   */
  Latest: grpc.handleUnaryCall<_checkpoint_gateway_v1_LatestRequest__Output, _checkpoint_gateway_v1_LatestResponse>;
  
  /**
   * List returns checkpoints newest first, one page at a time.
   */
  List: grpc.handleUnaryCall<_checkpoint_gateway_v1_ListRequest__Output, _checkpoint_gateway_v1_ListResponse>;
  
  /**
   * ListExecutions returns the executions (threads) that hold checkpoints, the most
   * recently saved to first, one page at a time.
   */
  ListExecutions: grpc.handleUnaryCall<_checkpoint_gateway_v1_ListExecutionsRequest__Output, _checkpoint_gateway_v1_ListExecutionsResponse>;
  
  /**
   * ListNamespaces returns the namespaces of an execution that hold checkpoints, in code
   * point order ("" first), one page at a time.
   */
  ListNamespaces: grpc.handleUnaryCall<_checkpoint_gateway_v1_ListNamespacesRequest__Output, _checkpoint_gateway_v1_ListNamespacesResponse>;
  
  /**
   * Load returns one checkpoint with its pending writes.
   */
  Load: grpc.handleUnaryCall<_checkpoint_gateway_v1_LoadRequest__Output, _checkpoint_gateway_v1_LoadResponse>;
  
  /**
   * Prune thins executions: keep the latest checkpoint of each namespace (with its
   * writes and channels), or delete everything.
   */
  Prune: grpc.handleUnaryCall<_checkpoint_gateway_v1_PruneRequest__Output, _checkpoint_gateway_v1_PruneResponse>;
  
  /**
   * PutWrites stores pending writes of a task against a checkpoint. A write is keyed
   * by (task_id, idx) and never duplicated: for idx >= 0 the first write of a key wins
   * (a retry changes nothing); a special write (idx < 0: LangGraph's error, interrupt,
   * resume...) replaces the earlier one. The checkpoint need not be saved yet: a runtime
   * may send a step's writes before, or alongside, the save of its checkpoint, and Load
   * and Latest return them once it is saved. Writes whose checkpoint never comes go with
   * Delete of that id, Clear, Prune, retention and TTL.
   */
  PutWrites: grpc.handleUnaryCall<_checkpoint_gateway_v1_PutWritesRequest__Output, _checkpoint_gateway_v1_PutWritesResponse>;
  
  /**
   * Save stores a new checkpoint. Saving the same checkpoint_id again with the same
   * content is a no-op that returns the stored version (so retries are safe); with
   * different content it is ABORTED.
   */
  Save: grpc.handleUnaryCall<_checkpoint_gateway_v1_SaveRequest__Output, _checkpoint_gateway_v1_SaveResponse>;
  
  /**
   * SaveMany stores several checkpoints in one call, in order, each on its own: every
   * item gets its SaveResponse or its own error (the status Save would have returned),
   * so one conflict does not fail the rest. Saves of one lineage get consecutive
   * versions in request order. The call as a whole fails only when it is refused
   * (INVALID_ARGUMENT: more items than the gateway's max_batch_items) or the backend
   * cannot be reached (UNAVAILABLE; retrying is safe when every item has an id).
   */
  SaveMany: grpc.handleUnaryCall<_checkpoint_gateway_v1_SaveManyRequest__Output, _checkpoint_gateway_v1_SaveManyResponse>;
  
  /**
   * Search lists checkpoints across every execution and namespace, newest first
   * (created_at, then execution, namespace and version, descending), filtered by
   * metadata.
   */
  Search: grpc.handleUnaryCall<_checkpoint_gateway_v1_SearchRequest__Output, _checkpoint_gateway_v1_ListResponse>;
  
}

export interface CheckpointServiceDefinition extends grpc.ServiceDefinition {
  Ancestors: MethodDefinition<_checkpoint_gateway_v1_AncestorsRequest, _checkpoint_gateway_v1_AncestorsResponse, _checkpoint_gateway_v1_AncestorsRequest__Output, _checkpoint_gateway_v1_AncestorsResponse__Output>
  Clear: MethodDefinition<_checkpoint_gateway_v1_ClearRequest, _checkpoint_gateway_v1_ClearResponse, _checkpoint_gateway_v1_ClearRequest__Output, _checkpoint_gateway_v1_ClearResponse__Output>
  CopyExecution: MethodDefinition<_checkpoint_gateway_v1_CopyExecutionRequest, _checkpoint_gateway_v1_CopyExecutionResponse, _checkpoint_gateway_v1_CopyExecutionRequest__Output, _checkpoint_gateway_v1_CopyExecutionResponse__Output>
  Delete: MethodDefinition<_checkpoint_gateway_v1_DeleteRequest, _checkpoint_gateway_v1_DeleteResponse, _checkpoint_gateway_v1_DeleteRequest__Output, _checkpoint_gateway_v1_DeleteResponse__Output>
  DeleteWhere: MethodDefinition<_checkpoint_gateway_v1_DeleteWhereRequest, _checkpoint_gateway_v1_DeleteWhereResponse, _checkpoint_gateway_v1_DeleteWhereRequest__Output, _checkpoint_gateway_v1_DeleteWhereResponse__Output>
  Latest: MethodDefinition<_checkpoint_gateway_v1_LatestRequest, _checkpoint_gateway_v1_LatestResponse, _checkpoint_gateway_v1_LatestRequest__Output, _checkpoint_gateway_v1_LatestResponse__Output>
  List: MethodDefinition<_checkpoint_gateway_v1_ListRequest, _checkpoint_gateway_v1_ListResponse, _checkpoint_gateway_v1_ListRequest__Output, _checkpoint_gateway_v1_ListResponse__Output>
  ListExecutions: MethodDefinition<_checkpoint_gateway_v1_ListExecutionsRequest, _checkpoint_gateway_v1_ListExecutionsResponse, _checkpoint_gateway_v1_ListExecutionsRequest__Output, _checkpoint_gateway_v1_ListExecutionsResponse__Output>
  ListNamespaces: MethodDefinition<_checkpoint_gateway_v1_ListNamespacesRequest, _checkpoint_gateway_v1_ListNamespacesResponse, _checkpoint_gateway_v1_ListNamespacesRequest__Output, _checkpoint_gateway_v1_ListNamespacesResponse__Output>
  Load: MethodDefinition<_checkpoint_gateway_v1_LoadRequest, _checkpoint_gateway_v1_LoadResponse, _checkpoint_gateway_v1_LoadRequest__Output, _checkpoint_gateway_v1_LoadResponse__Output>
  Prune: MethodDefinition<_checkpoint_gateway_v1_PruneRequest, _checkpoint_gateway_v1_PruneResponse, _checkpoint_gateway_v1_PruneRequest__Output, _checkpoint_gateway_v1_PruneResponse__Output>
  PutWrites: MethodDefinition<_checkpoint_gateway_v1_PutWritesRequest, _checkpoint_gateway_v1_PutWritesResponse, _checkpoint_gateway_v1_PutWritesRequest__Output, _checkpoint_gateway_v1_PutWritesResponse__Output>
  Save: MethodDefinition<_checkpoint_gateway_v1_SaveRequest, _checkpoint_gateway_v1_SaveResponse, _checkpoint_gateway_v1_SaveRequest__Output, _checkpoint_gateway_v1_SaveResponse__Output>
  SaveMany: MethodDefinition<_checkpoint_gateway_v1_SaveManyRequest, _checkpoint_gateway_v1_SaveManyResponse, _checkpoint_gateway_v1_SaveManyRequest__Output, _checkpoint_gateway_v1_SaveManyResponse__Output>
  Search: MethodDefinition<_checkpoint_gateway_v1_SearchRequest, _checkpoint_gateway_v1_ListResponse, _checkpoint_gateway_v1_SearchRequest__Output, _checkpoint_gateway_v1_ListResponse__Output>
}
