import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AncestorsRequest as _checkpoint_gateway_v1_AncestorsRequest, AncestorsRequest__Output as _checkpoint_gateway_v1_AncestorsRequest__Output } from './checkpoint_gateway/v1/AncestorsRequest.js';
import type { AncestorsResponse as _checkpoint_gateway_v1_AncestorsResponse, AncestorsResponse__Output as _checkpoint_gateway_v1_AncestorsResponse__Output } from './checkpoint_gateway/v1/AncestorsResponse.js';
import type { Channel as _checkpoint_gateway_v1_Channel, Channel__Output as _checkpoint_gateway_v1_Channel__Output } from './checkpoint_gateway/v1/Channel.js';
import type { Checkpoint as _checkpoint_gateway_v1_Checkpoint, Checkpoint__Output as _checkpoint_gateway_v1_Checkpoint__Output } from './checkpoint_gateway/v1/Checkpoint.js';
import type { CheckpointServiceClient as _checkpoint_gateway_v1_CheckpointServiceClient, CheckpointServiceDefinition as _checkpoint_gateway_v1_CheckpointServiceDefinition } from './checkpoint_gateway/v1/CheckpointService.js';
import type { ClearRequest as _checkpoint_gateway_v1_ClearRequest, ClearRequest__Output as _checkpoint_gateway_v1_ClearRequest__Output } from './checkpoint_gateway/v1/ClearRequest.js';
import type { ClearResponse as _checkpoint_gateway_v1_ClearResponse, ClearResponse__Output as _checkpoint_gateway_v1_ClearResponse__Output } from './checkpoint_gateway/v1/ClearResponse.js';
import type { CopyExecutionRequest as _checkpoint_gateway_v1_CopyExecutionRequest, CopyExecutionRequest__Output as _checkpoint_gateway_v1_CopyExecutionRequest__Output } from './checkpoint_gateway/v1/CopyExecutionRequest.js';
import type { CopyExecutionResponse as _checkpoint_gateway_v1_CopyExecutionResponse, CopyExecutionResponse__Output as _checkpoint_gateway_v1_CopyExecutionResponse__Output } from './checkpoint_gateway/v1/CopyExecutionResponse.js';
import type { DeleteRequest as _checkpoint_gateway_v1_DeleteRequest, DeleteRequest__Output as _checkpoint_gateway_v1_DeleteRequest__Output } from './checkpoint_gateway/v1/DeleteRequest.js';
import type { DeleteResponse as _checkpoint_gateway_v1_DeleteResponse, DeleteResponse__Output as _checkpoint_gateway_v1_DeleteResponse__Output } from './checkpoint_gateway/v1/DeleteResponse.js';
import type { DeleteWhereRequest as _checkpoint_gateway_v1_DeleteWhereRequest, DeleteWhereRequest__Output as _checkpoint_gateway_v1_DeleteWhereRequest__Output } from './checkpoint_gateway/v1/DeleteWhereRequest.js';
import type { DeleteWhereResponse as _checkpoint_gateway_v1_DeleteWhereResponse, DeleteWhereResponse__Output as _checkpoint_gateway_v1_DeleteWhereResponse__Output } from './checkpoint_gateway/v1/DeleteWhereResponse.js';
import type { Execution as _checkpoint_gateway_v1_Execution, Execution__Output as _checkpoint_gateway_v1_Execution__Output } from './checkpoint_gateway/v1/Execution.js';
import type { ItemError as _checkpoint_gateway_v1_ItemError, ItemError__Output as _checkpoint_gateway_v1_ItemError__Output } from './checkpoint_gateway/v1/ItemError.js';
import type { LatestRequest as _checkpoint_gateway_v1_LatestRequest, LatestRequest__Output as _checkpoint_gateway_v1_LatestRequest__Output } from './checkpoint_gateway/v1/LatestRequest.js';
import type { LatestResponse as _checkpoint_gateway_v1_LatestResponse, LatestResponse__Output as _checkpoint_gateway_v1_LatestResponse__Output } from './checkpoint_gateway/v1/LatestResponse.js';
import type { ListExecutionsRequest as _checkpoint_gateway_v1_ListExecutionsRequest, ListExecutionsRequest__Output as _checkpoint_gateway_v1_ListExecutionsRequest__Output } from './checkpoint_gateway/v1/ListExecutionsRequest.js';
import type { ListExecutionsResponse as _checkpoint_gateway_v1_ListExecutionsResponse, ListExecutionsResponse__Output as _checkpoint_gateway_v1_ListExecutionsResponse__Output } from './checkpoint_gateway/v1/ListExecutionsResponse.js';
import type { ListNamespacesRequest as _checkpoint_gateway_v1_ListNamespacesRequest, ListNamespacesRequest__Output as _checkpoint_gateway_v1_ListNamespacesRequest__Output } from './checkpoint_gateway/v1/ListNamespacesRequest.js';
import type { ListNamespacesResponse as _checkpoint_gateway_v1_ListNamespacesResponse, ListNamespacesResponse__Output as _checkpoint_gateway_v1_ListNamespacesResponse__Output } from './checkpoint_gateway/v1/ListNamespacesResponse.js';
import type { ListRequest as _checkpoint_gateway_v1_ListRequest, ListRequest__Output as _checkpoint_gateway_v1_ListRequest__Output } from './checkpoint_gateway/v1/ListRequest.js';
import type { ListResponse as _checkpoint_gateway_v1_ListResponse, ListResponse__Output as _checkpoint_gateway_v1_ListResponse__Output } from './checkpoint_gateway/v1/ListResponse.js';
import type { LoadRequest as _checkpoint_gateway_v1_LoadRequest, LoadRequest__Output as _checkpoint_gateway_v1_LoadRequest__Output } from './checkpoint_gateway/v1/LoadRequest.js';
import type { LoadResponse as _checkpoint_gateway_v1_LoadResponse, LoadResponse__Output as _checkpoint_gateway_v1_LoadResponse__Output } from './checkpoint_gateway/v1/LoadResponse.js';
import type { PendingWrite as _checkpoint_gateway_v1_PendingWrite, PendingWrite__Output as _checkpoint_gateway_v1_PendingWrite__Output } from './checkpoint_gateway/v1/PendingWrite.js';
import type { PruneRequest as _checkpoint_gateway_v1_PruneRequest, PruneRequest__Output as _checkpoint_gateway_v1_PruneRequest__Output } from './checkpoint_gateway/v1/PruneRequest.js';
import type { PruneResponse as _checkpoint_gateway_v1_PruneResponse, PruneResponse__Output as _checkpoint_gateway_v1_PruneResponse__Output } from './checkpoint_gateway/v1/PruneResponse.js';
import type { PutWritesRequest as _checkpoint_gateway_v1_PutWritesRequest, PutWritesRequest__Output as _checkpoint_gateway_v1_PutWritesRequest__Output } from './checkpoint_gateway/v1/PutWritesRequest.js';
import type { PutWritesResponse as _checkpoint_gateway_v1_PutWritesResponse, PutWritesResponse__Output as _checkpoint_gateway_v1_PutWritesResponse__Output } from './checkpoint_gateway/v1/PutWritesResponse.js';
import type { SaveManyRequest as _checkpoint_gateway_v1_SaveManyRequest, SaveManyRequest__Output as _checkpoint_gateway_v1_SaveManyRequest__Output } from './checkpoint_gateway/v1/SaveManyRequest.js';
import type { SaveManyResponse as _checkpoint_gateway_v1_SaveManyResponse, SaveManyResponse__Output as _checkpoint_gateway_v1_SaveManyResponse__Output } from './checkpoint_gateway/v1/SaveManyResponse.js';
import type { SaveRequest as _checkpoint_gateway_v1_SaveRequest, SaveRequest__Output as _checkpoint_gateway_v1_SaveRequest__Output } from './checkpoint_gateway/v1/SaveRequest.js';
import type { SaveResponse as _checkpoint_gateway_v1_SaveResponse, SaveResponse__Output as _checkpoint_gateway_v1_SaveResponse__Output } from './checkpoint_gateway/v1/SaveResponse.js';
import type { SaveResult as _checkpoint_gateway_v1_SaveResult, SaveResult__Output as _checkpoint_gateway_v1_SaveResult__Output } from './checkpoint_gateway/v1/SaveResult.js';
import type { SearchRequest as _checkpoint_gateway_v1_SearchRequest, SearchRequest__Output as _checkpoint_gateway_v1_SearchRequest__Output } from './checkpoint_gateway/v1/SearchRequest.js';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  checkpoint_gateway: {
    v1: {
      AncestorsRequest: MessageTypeDefinition<_checkpoint_gateway_v1_AncestorsRequest, _checkpoint_gateway_v1_AncestorsRequest__Output>
      AncestorsResponse: MessageTypeDefinition<_checkpoint_gateway_v1_AncestorsResponse, _checkpoint_gateway_v1_AncestorsResponse__Output>
      Channel: MessageTypeDefinition<_checkpoint_gateway_v1_Channel, _checkpoint_gateway_v1_Channel__Output>
      Checkpoint: MessageTypeDefinition<_checkpoint_gateway_v1_Checkpoint, _checkpoint_gateway_v1_Checkpoint__Output>
      CheckpointService: SubtypeConstructor<typeof grpc.Client, _checkpoint_gateway_v1_CheckpointServiceClient> & { service: _checkpoint_gateway_v1_CheckpointServiceDefinition }
      ClearRequest: MessageTypeDefinition<_checkpoint_gateway_v1_ClearRequest, _checkpoint_gateway_v1_ClearRequest__Output>
      ClearResponse: MessageTypeDefinition<_checkpoint_gateway_v1_ClearResponse, _checkpoint_gateway_v1_ClearResponse__Output>
      CopyExecutionRequest: MessageTypeDefinition<_checkpoint_gateway_v1_CopyExecutionRequest, _checkpoint_gateway_v1_CopyExecutionRequest__Output>
      CopyExecutionResponse: MessageTypeDefinition<_checkpoint_gateway_v1_CopyExecutionResponse, _checkpoint_gateway_v1_CopyExecutionResponse__Output>
      DeleteRequest: MessageTypeDefinition<_checkpoint_gateway_v1_DeleteRequest, _checkpoint_gateway_v1_DeleteRequest__Output>
      DeleteResponse: MessageTypeDefinition<_checkpoint_gateway_v1_DeleteResponse, _checkpoint_gateway_v1_DeleteResponse__Output>
      DeleteWhereRequest: MessageTypeDefinition<_checkpoint_gateway_v1_DeleteWhereRequest, _checkpoint_gateway_v1_DeleteWhereRequest__Output>
      DeleteWhereResponse: MessageTypeDefinition<_checkpoint_gateway_v1_DeleteWhereResponse, _checkpoint_gateway_v1_DeleteWhereResponse__Output>
      Execution: MessageTypeDefinition<_checkpoint_gateway_v1_Execution, _checkpoint_gateway_v1_Execution__Output>
      ItemError: MessageTypeDefinition<_checkpoint_gateway_v1_ItemError, _checkpoint_gateway_v1_ItemError__Output>
      LatestRequest: MessageTypeDefinition<_checkpoint_gateway_v1_LatestRequest, _checkpoint_gateway_v1_LatestRequest__Output>
      LatestResponse: MessageTypeDefinition<_checkpoint_gateway_v1_LatestResponse, _checkpoint_gateway_v1_LatestResponse__Output>
      ListExecutionsRequest: MessageTypeDefinition<_checkpoint_gateway_v1_ListExecutionsRequest, _checkpoint_gateway_v1_ListExecutionsRequest__Output>
      ListExecutionsResponse: MessageTypeDefinition<_checkpoint_gateway_v1_ListExecutionsResponse, _checkpoint_gateway_v1_ListExecutionsResponse__Output>
      ListNamespacesRequest: MessageTypeDefinition<_checkpoint_gateway_v1_ListNamespacesRequest, _checkpoint_gateway_v1_ListNamespacesRequest__Output>
      ListNamespacesResponse: MessageTypeDefinition<_checkpoint_gateway_v1_ListNamespacesResponse, _checkpoint_gateway_v1_ListNamespacesResponse__Output>
      ListRequest: MessageTypeDefinition<_checkpoint_gateway_v1_ListRequest, _checkpoint_gateway_v1_ListRequest__Output>
      ListResponse: MessageTypeDefinition<_checkpoint_gateway_v1_ListResponse, _checkpoint_gateway_v1_ListResponse__Output>
      LoadRequest: MessageTypeDefinition<_checkpoint_gateway_v1_LoadRequest, _checkpoint_gateway_v1_LoadRequest__Output>
      LoadResponse: MessageTypeDefinition<_checkpoint_gateway_v1_LoadResponse, _checkpoint_gateway_v1_LoadResponse__Output>
      PendingWrite: MessageTypeDefinition<_checkpoint_gateway_v1_PendingWrite, _checkpoint_gateway_v1_PendingWrite__Output>
      PruneRequest: MessageTypeDefinition<_checkpoint_gateway_v1_PruneRequest, _checkpoint_gateway_v1_PruneRequest__Output>
      PruneResponse: MessageTypeDefinition<_checkpoint_gateway_v1_PruneResponse, _checkpoint_gateway_v1_PruneResponse__Output>
      PruneStrategy: EnumTypeDefinition
      PutWritesRequest: MessageTypeDefinition<_checkpoint_gateway_v1_PutWritesRequest, _checkpoint_gateway_v1_PutWritesRequest__Output>
      PutWritesResponse: MessageTypeDefinition<_checkpoint_gateway_v1_PutWritesResponse, _checkpoint_gateway_v1_PutWritesResponse__Output>
      SaveManyRequest: MessageTypeDefinition<_checkpoint_gateway_v1_SaveManyRequest, _checkpoint_gateway_v1_SaveManyRequest__Output>
      SaveManyResponse: MessageTypeDefinition<_checkpoint_gateway_v1_SaveManyResponse, _checkpoint_gateway_v1_SaveManyResponse__Output>
      SaveRequest: MessageTypeDefinition<_checkpoint_gateway_v1_SaveRequest, _checkpoint_gateway_v1_SaveRequest__Output>
      SaveResponse: MessageTypeDefinition<_checkpoint_gateway_v1_SaveResponse, _checkpoint_gateway_v1_SaveResponse__Output>
      SaveResult: MessageTypeDefinition<_checkpoint_gateway_v1_SaveResult, _checkpoint_gateway_v1_SaveResult__Output>
      SearchRequest: MessageTypeDefinition<_checkpoint_gateway_v1_SearchRequest, _checkpoint_gateway_v1_SearchRequest__Output>
    }
  }
  google: {
    protobuf: {
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
  }
}

