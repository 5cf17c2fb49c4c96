/**
 * The data model: a checkpoint, its channels and pending writes, and pages of listings.
 *
 * Plain objects, never protobuf messages. Bytes are `Uint8Array` (a `Buffer` when read
 * back); `state` and values given as anything else are stored as JSON
 * (`application/json`), and {@link decodeJson} reads them back.
 * @module
 */

/** The media type of JSON values. */
export const JSON_CONTENT_TYPE = "application/json";
/** The media type of bytes given without one. */
export const OCTET_STREAM = "application/octet-stream";

/** A named part of a checkpoint's state, stored once per version within its lineage. */
export interface Channel {
  /** Identifies the value within (lineage, name); a stored version never changes. */
  version: string;
  /**
   * The value. Absent on a save: a reference to the value stored earlier in the lineage
   * under this name and version (NOT_FOUND when there is none). Loads always fill it.
   */
  value?: Uint8Array;
  /** Media type of `value`; "" means application/octet-stream. */
  contentType?: string;
}

/** A write a task made against a checkpoint, keyed by `(taskId, idx)`. */
export interface PendingWrite {
  taskId: string;
  /** Position within the task; negative for special channels (error, interrupt...). */
  idx: number;
  channel: string;
  value: Uint8Array;
  contentType?: string;
  taskPath?: string;
}

/** A checkpoint to save. Only `executionId` is required. */
export interface NewCheckpoint {
  executionId: string;
  namespace?: string;
  /** Empty or absent: the client picks a time-ordered UUIDv7 (so a retry is idempotent). */
  checkpointId?: string;
  parentId?: string;
  /** Bytes are stored as given (with `contentType`); anything else as JSON. */
  state?: unknown;
  contentType?: string;
  /** A JSON object; its top-level keys can be filtered on in listings. */
  metadata?: Record<string, unknown>;
  node?: string;
  nextNodes?: readonly string[];
  channels?: Record<string, Channel>;
}

/** A stored checkpoint, as Load, Latest, List, Search and Ancestors return it. */
export interface Checkpoint {
  executionId: string;
  namespace: string;
  checkpointId: string;
  parentId: string;
  state: Uint8Array;
  contentType: string;
  metadata: Record<string, unknown>;
  node: string;
  nextNodes: string[];
  /** When the gateway stored it. */
  createdAt: Date | undefined;
  /** 1 for the first checkpoint of its lineage (execution, namespace), then +1. */
  version: number;
  pendingWrites: PendingWrite[];
  channels: Record<string, Channel>;
}

/** What the gateway answered to a save. */
export interface Saved {
  checkpointId: string;
  version: number;
  createdAt: Date | undefined;
}

/** One page of a listing; `nextPageToken` is undefined on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken: string | undefined;
}

/** An execution (thread) that holds checkpoints. */
export interface ExecutionInfo {
  executionId: string;
  /** When its newest checkpoint was saved. */
  updatedAt: Date | undefined;
}

/** How Prune thins executions. */
export type PruneStrategy = "keep_latest" | "delete_all";

/** Parse JSON bytes (a state, channel or write stored as `application/json`). */
export function decodeJson<T = unknown>(data: Uint8Array): T {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")) as T;
}
