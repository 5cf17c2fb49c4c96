/**
 * Our models <-> the generated protobuf shapes; the only module that knows both.
 * @module
 */
import { InvalidArgumentError } from "./errors.js";
import {
  JSON_CONTENT_TYPE,
  OCTET_STREAM,
  type Channel,
  type Checkpoint,
  type ExecutionInfo,
  type NewCheckpoint,
  type PendingWrite,
  type PruneStrategy,
} from "./models.js";
import type { Channel as PbChannel, Channel__Output as PbChannelOut } from "./generated/checkpoint_gateway/v1/Channel.js";
import type { Checkpoint as PbCheckpoint, Checkpoint__Output as PbCheckpointOut } from "./generated/checkpoint_gateway/v1/Checkpoint.js";
import type { Execution__Output as PbExecutionOut } from "./generated/checkpoint_gateway/v1/Execution.js";
import type { PendingWrite as PbWrite, PendingWrite__Output as PbWriteOut } from "./generated/checkpoint_gateway/v1/PendingWrite.js";
import type { PruneStrategy as PbPruneStrategy } from "./generated/checkpoint_gateway/v1/PruneStrategy.js";
import type { Timestamp__Output as PbTimestampOut } from "./generated/google/protobuf/Timestamp.js";

/** Compact JSON text, or InvalidArgumentError naming `what` could not be encoded. */
export function jsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidArgumentError(`${what} is not JSON-serializable: ${(error as Error).message}`);
  }
  if (text === undefined) {
    throw new InvalidArgumentError(`${what} is not JSON-serializable`);
  }
  return text;
}

/** `[bytes, contentType]` for a state given as bytes (kept) or anything else (JSON). */
export function encodeValue(
  value: unknown,
  contentType: string | undefined,
  what: string,
): [Uint8Array, string] {
  if (value instanceof Uint8Array) {
    return [value, contentType || OCTET_STREAM];
  }
  if (contentType && contentType !== JSON_CONTENT_TYPE) {
    throw new InvalidArgumentError(
      `${what} is not bytes, so it is stored as ${JSON_CONTENT_TYPE}; pass a Uint8Array to store it as ${contentType}`,
    );
  }
  return [Buffer.from(jsonText(value ?? null, what), "utf8"), JSON_CONTENT_TYPE];
}

/** A metadata object as the wire's JSON text ("" for none). */
export function metadataToJson(metadata: Record<string, unknown> | undefined, what = "metadata"): string {
  if (metadata === undefined) {
    return "";
  }
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new InvalidArgumentError(`${what} must be an object`);
  }
  return jsonText(metadata, what);
}

export function checkpointToPb(cp: NewCheckpoint & { checkpointId: string }): PbCheckpoint {
  if (typeof cp.executionId !== "string") {
    throw new InvalidArgumentError("executionId must be a string");
  }
  const [state, contentType] = encodeValue(cp.state, cp.contentType, "state");
  return {
    executionId: cp.executionId,
    namespace: cp.namespace ?? "",
    checkpointId: cp.checkpointId,
    parentId: cp.parentId ?? "",
    state,
    contentType,
    metadata: metadataToJson(cp.metadata),
    node: cp.node ?? "",
    nextNodes: [...(cp.nextNodes ?? [])],
    channels: Object.entries(cp.channels ?? {}).map(([name, ch]) => channelToPb(name, ch)),
  };
}

function channelToPb(name: string, ch: Channel): PbChannel {
  const out: PbChannel = { name, version: ch.version, contentType: ch.contentType ?? "" };
  if (ch.value !== undefined) {
    out.value = ch.value;
  }
  return out;
}

export function writeToPb(w: PendingWrite): PbWrite {
  return {
    taskId: w.taskId,
    idx: w.idx,
    channel: w.channel,
    value: w.value,
    contentType: w.contentType ?? "",
    taskPath: w.taskPath ?? "",
  };
}

export function dateFromPb(ts: PbTimestampOut | null | undefined): Date | undefined {
  if (!ts) {
    return undefined;
  }
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
}

function writeFromPb(w: PbWriteOut): PendingWrite {
  return {
    taskId: w.taskId,
    idx: w.idx,
    channel: w.channel,
    value: w.value,
    contentType: w.contentType,
    taskPath: w.taskPath,
  };
}

function channelFromPb(ch: PbChannelOut): Channel {
  const out: Channel = { version: ch.version, contentType: ch.contentType };
  if (ch.value !== undefined) {
    out.value = ch.value;
  }
  return out;
}

export function checkpointFromPb(cp: PbCheckpointOut | null): Checkpoint {
  if (cp === null) {
    throw new InvalidArgumentError("the gateway answered without a checkpoint");
  }
  const channels: Record<string, Channel> = {};
  for (const ch of cp.channels) {
    channels[ch.name] = channelFromPb(ch);
  }
  return {
    executionId: cp.executionId,
    namespace: cp.namespace,
    checkpointId: cp.checkpointId,
    parentId: cp.parentId,
    state: cp.state,
    contentType: cp.contentType,
    metadata: cp.metadata ? (JSON.parse(cp.metadata) as Record<string, unknown>) : {},
    node: cp.node,
    nextNodes: [...cp.nextNodes],
    createdAt: dateFromPb(cp.createdAt),
    version: Number(cp.version),
    pendingWrites: cp.pendingWrites.map(writeFromPb),
    channels,
  };
}

export function executionFromPb(e: PbExecutionOut): ExecutionInfo {
  return { executionId: e.executionId, updatedAt: dateFromPb(e.updatedAt) };
}

export function pruneStrategyToPb(strategy: PruneStrategy): PbPruneStrategy {
  switch (strategy) {
    case "keep_latest":
      return "PRUNE_STRATEGY_KEEP_LATEST";
    case "delete_all":
      return "PRUNE_STRATEGY_DELETE_ALL";
    default:
      throw new InvalidArgumentError(`unknown prune strategy ${JSON.stringify(strategy)}`);
  }
}
