/**
 * checkpoint-gateway's TypeScript client. The LangGraph.js saver is in
 * `@checkpoint-gateway/client/langgraph`.
 * @module
 */
export {
  CheckpointGatewayClient,
  DEFAULT_SERVICE_CONFIG,
  DEFAULT_TIMEOUT_MS,
  type AncestorsOptions,
  type CallOptions,
  type ClearOptions,
  type ClientOptions,
  type DeleteWhereOptions,
  type ListOptions,
  type MetadataInit,
  type NamespaceOptions,
  type PageOptions,
  type SaveManyItem,
  type SaveOptions,
  type SearchOptions,
  type TlsOptions,
} from "./client.js";
export {
  CheckpointError,
  ConflictError,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  errorForCode,
} from "./errors.js";
export { newCheckpointId } from "./ids.js";
export {
  JSON_CONTENT_TYPE,
  OCTET_STREAM,
  decodeJson,
  type Channel,
  type Checkpoint,
  type ExecutionInfo,
  type NewCheckpoint,
  type Page,
  type PendingWrite,
  type PruneStrategy,
  type Saved,
} from "./models.js";
