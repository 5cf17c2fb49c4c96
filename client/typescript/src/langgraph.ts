/**
 * LangGraph.js's checkpointer over checkpoint-gateway: {@link GatewaySaver}.
 *
 * ```ts
 * import { GatewaySaver } from "@checkpoint-gateway/client/langgraph";
 * const checkpointer = new GatewaySaver("gateway:50051", { token });
 * const graph = builder.compile({ checkpointer });
 * ```
 *
 * How LangGraph's model maps onto the gateway's (as the Python saver,
 * `checkpoint_client.langgraph`, maps it):
 *
 * - `thread_id` is the execution, `checkpoint_ns` the namespace, the checkpoint's id its
 *   `checkpointId` and the config's `checkpoint_id` (the one it follows) its `parentId`;
 *   metadata is stored as JSON, so `list({ filter })` is served by the gateway's index.
 * - Each channel value is a gateway channel, stored once per channel version: a put sends
 *   the values of the channels in `newVersions` and refers to the others by version, as
 *   LangGraph's own savers store one blob per version. A channel whose version was never
 *   stored is left out, as LangGraph's PostgresSaver leaves it out. Numbers, booleans and
 *   null stay inline in the state. Everything goes through the saver's `serde`, whose
 *   type is kept in the content type (`application/x-langgraph;serde=json`).
 * - Writes may reach the gateway before their checkpoint: the gateway keeps them and
 *   returns them with it. A regular write of a `(task_id, idx)` is stored once; an error,
 *   interrupt or resume write replaces the earlier one.
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  getCheckpointId,
  maxChannelVersion,
  writesSortKey,
  type ChannelVersions,
  type Checkpoint as LangGraphCheckpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite as LangGraphWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { CheckpointGatewayClient, type ClientOptions } from "./client.js";
import { jsonText } from "./convert.js";
import { ConflictError, InvalidArgumentError, NotFoundError } from "./errors.js";
import type { Channel, Checkpoint, NewCheckpoint, PendingWrite } from "./models.js";

/** The media type of what the saver stores; `serde=` names the serializer's type. */
export const CONTENT_TYPE = "application/x-langgraph";
const SERDE = `${CONTENT_TYPE};serde=`;
/** Listings go page by page, this many checkpoints a call. */
const PAGE = 100;

/** The saver's options: the client's, and the serializer. */
export interface GatewaySaverOptions extends ClientOptions {
  /** LangGraph's serializer for checkpoints, channel values and writes (JsonPlusSerializer). */
  serde?: SerializerProtocol;
}

type Scalar = string | number | boolean | null;

function contentType(kind: string): string {
  return SERDE + encodeURIComponent(kind);
}

function kindOf(type: string): string {
  if (!type.startsWith(SERDE)) {
    throw new InvalidArgumentError(
      `not saved by a LangGraph saver (content type ${JSON.stringify(type)}): ` +
        "a thread written by other clients cannot be read as LangGraph state",
    );
  }
  return decodeURIComponent(type.slice(SERDE.length));
}

function threadConfig(threadId: string, namespace: string, checkpointId: string): RunnableConfig {
  return { configurable: { thread_id: threadId, checkpoint_ns: namespace, checkpoint_id: checkpointId } };
}

/** Numbers, booleans and null stay in the state: a stored value of their own costs more. */
function isInline(value: unknown): boolean {
  return value === null || typeof value === "number" || typeof value === "boolean";
}

function isScalar(value: unknown): value is Scalar {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** The name of the channel a "not stored; send its value" NOT_FOUND names, if it does. */
function missingChannel(error: NotFoundError): string | undefined {
  const match = /^channel (['"])(.*?)\1 version /.exec(error.message);
  return match?.[2];
}

/**
 * A LangGraph.js checkpointer that stores in a checkpoint-gateway.
 *
 * Give it the gateway's target (and the client's options: `token`, `tls`, `timeoutMs`...)
 * or a {@link CheckpointGatewayClient} of your own, which it then does not close.
 */
export class GatewaySaver extends BaseCheckpointSaver {
  readonly client: CheckpointGatewayClient;
  readonly #ownsClient: boolean;

  constructor(target: string | CheckpointGatewayClient, options: GatewaySaverOptions = {}) {
    const { serde, ...clientOptions } = options;
    super(serde);
    if (typeof target === "string") {
      this.client = new CheckpointGatewayClient(target, clientOptions);
      this.#ownsClient = true;
    } else {
      this.client = target;
      this.#ownsClient = false;
    }
  }

  /** Close the client, if the saver made it. */
  close(): void {
    if (this.#ownsClient) {
      this.client.close();
    }
  }

  // -- LangGraph values <-> gateway records ---------------------------------------------

  async #dump(value: unknown): Promise<[Uint8Array, string]> {
    const [kind, data] = await this.serde.dumpsTyped(value);
    return [data, contentType(kind)];
  }

  async #load(data: Uint8Array | undefined, type: string | undefined): Promise<unknown> {
    return await this.serde.loadsTyped(kindOf(type ?? ""), data ?? new Uint8Array());
  }

  /**
   * The gateway's record of a checkpoint: the channels in `newVersions` carry their
   * values, the others refer to stored ones; with `ownVersions` every channel carries
   * its value under a version of this checkpoint's own (see `#put`).
   */
  async #toRecord(
    config: RunnableConfig,
    checkpoint: LangGraphCheckpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
    ownVersions: boolean,
  ): Promise<NewCheckpoint & { channels: Record<string, Channel> }> {
    const conf = config.configurable ?? {};
    const values = checkpoint.channel_values as Record<string, unknown>;
    const versions = checkpoint.channel_versions as Record<string, number | string | undefined>;
    const inline: Record<string, unknown> = {};
    const channels: Record<string, Channel> = {};
    for (const [name, value] of Object.entries(values)) {
      const stored = versions[name];
      if (isInline(value) || stored === undefined) {
        inline[name] = value;
        continue;
      }
      let version = String(stored);
      if (ownVersions || name in newVersions) {
        const [data, type] = await this.#dump(value);
        if (ownVersions) {
          version = `${version}@${checkpoint.id}`;
        }
        channels[name] = { version, value: data, contentType: type };
      } else {
        channels[name] = { version };
      }
    }
    const [state, type] = await this.#dump({ ...checkpoint, channel_values: inline });
    return {
      executionId: conf.thread_id as string,
      namespace: (conf.checkpoint_ns as string | undefined) ?? "",
      checkpointId: checkpoint.id,
      parentId: (conf.checkpoint_id as string | undefined) ?? "",
      state,
      contentType: type,
      // As JSON holds it (undefined dropped), as LangGraph's PostgresSaver stores it.
      metadata: JSON.parse(jsonText(metadata ?? {}, "metadata")) as Record<string, unknown>,
      channels,
    };
  }

  async #writes(writes: readonly PendingWrite[]): Promise<CheckpointPendingWrite[]> {
    const ordered = [...writes].sort((a, b) =>
      compareWritesSortKeys(writesSortKey(a.taskPath ?? "", a.taskId, a.idx), writesSortKey(b.taskPath ?? "", b.taskId, b.idx)),
    );
    return await Promise.all(
      ordered.map(async (w): Promise<CheckpointPendingWrite> => [w.taskId, w.channel, await this.#load(w.value, w.contentType)]),
    );
  }

  async #toTuple(record: Checkpoint): Promise<CheckpointTuple> {
    const checkpoint = (await this.#load(record.state, record.contentType)) as LangGraphCheckpoint;
    const values: Record<string, unknown> = { ...checkpoint.channel_values };
    for (const [name, ch] of Object.entries(record.channels)) {
      values[name] = await this.#load(ch.value, ch.contentType);
    }
    checkpoint.channel_values = values;
    if (checkpoint.v < 4 && record.parentId) {
      await this.#migratePendingSends(checkpoint, record);
    }
    const tuple: CheckpointTuple = {
      config: threadConfig(record.executionId, record.namespace, record.checkpointId),
      checkpoint,
      metadata: record.metadata as CheckpointMetadata,
      pendingWrites: await this.#writes(record.pendingWrites),
    };
    if (record.parentId) {
      tuple.parentConfig = threadConfig(record.executionId, record.namespace, record.parentId);
    }
    return tuple;
  }

  /**
   * Checkpoints of format v < 4 kept the sends of a step as writes to TASKS against their
   * parent; LangGraph now reads them from the TASKS channel (as its own savers migrate).
   */
  async #migratePendingSends(checkpoint: LangGraphCheckpoint, record: Checkpoint): Promise<void> {
    let parent: Checkpoint;
    try {
      parent = await this.client.load(record.executionId, record.parentId, { namespace: record.namespace });
    } catch (error) {
      if (error instanceof NotFoundError) {
        return;
      }
      throw error;
    }
    const sends = (await this.#writes(parent.pendingWrites)).filter(([, channel]) => channel === TASKS);
    checkpoint.channel_values[TASKS] = sends.map(([, , value]) => value);
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }

  // -- BaseCheckpointSaver ---------------------------------------------------------------

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const conf = config.configurable ?? {};
    const threadId = conf.thread_id as string | undefined;
    if (threadId === undefined || threadId === null) {
      return undefined;
    }
    const namespace = (conf.checkpoint_ns as string | undefined) ?? "";
    const checkpointId = getCheckpointId(config);
    let record: Checkpoint;
    try {
      record = checkpointId
        ? await this.client.load(String(threadId), checkpointId, { namespace })
        : await this.client.latest(String(threadId), { namespace });
    } catch (error) {
      if (error instanceof NotFoundError) {
        return undefined;
      }
      throw error;
    }
    return await this.#toTuple(record);
  }

  override async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { filter, before, limit } = options;
    // The gateway filters on scalar values; others are compared here (LangGraph compares
    // any value for equality).
    const served: Record<string, Scalar> = {};
    const checked: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(filter ?? {})) {
      if (value === undefined) {
        continue;
      }
      if (isScalar(value)) {
        served[key] = value;
      } else {
        checked[key] = value;
      }
    }
    const beforeId = before ? getCheckpointId(before) || undefined : undefined;
    const beforeNamespace = before?.configurable?.checkpoint_ns as string | undefined;
    let left = limit;
    for await (const record of this.#records(config, served, beforeId, beforeNamespace)) {
      if (!Object.entries(checked).every(([key, value]) => sameValue(record.metadata[key], value))) {
        continue;
      }
      if (left !== undefined) {
        if (left <= 0) {
          return;
        }
        left -= 1;
      }
      yield await this.#toTuple(record);
    }
  }

  async *#records(
    config: RunnableConfig | undefined,
    served: Record<string, Scalar>,
    beforeId: string | undefined,
    beforeNamespace: string | undefined,
  ): AsyncGenerator<Checkpoint> {
    const conf = config?.configurable ?? {};
    const threadId = conf.thread_id as string | undefined;
    const namespace = conf.checkpoint_ns as string | undefined;
    const metadataFilter = Object.keys(served).length > 0 ? served : undefined;
    if (threadId === undefined || threadId === null) {
      // Every thread: LangGraph's `before` compares checkpoint ids.
      let pageToken: string | undefined;
      do {
        const page = await this.client.search({ metadataFilter, pageSize: PAGE, pageToken, includeWrites: true });
        for (const record of page.items) {
          if ((namespace === undefined || record.namespace === namespace) && (beforeId === undefined || record.checkpointId < beforeId)) {
            yield record;
          }
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
      return;
    }
    const checkpointId = getCheckpointId(config ?? {});
    if (checkpointId) {
      let record: Checkpoint;
      try {
        record = await this.client.load(String(threadId), checkpointId, { namespace: namespace ?? "" });
      } catch (error) {
        if (error instanceof NotFoundError) {
          return;
        }
        throw error;
      }
      if (
        Object.entries(served).every(([key, value]) => record.metadata[key] === value) &&
        (beforeId === undefined || checkpointId < beforeId)
      ) {
        yield record;
      }
      return;
    }
    const scope = {
      // Across namespaces, `namespace` only says where `before` is.
      namespace: namespace ?? beforeNamespace ?? "",
      allNamespaces: namespace === undefined,
      metadataFilter,
      pageSize: PAGE,
      includeWrites: true,
    };
    let yielded = false;
    try {
      for await (const record of this.client.listAll(String(threadId), { ...scope, before: beforeId })) {
        yielded = true;
        yield record;
      }
      return;
    } catch (error) {
      if (!(error instanceof NotFoundError) || beforeId === undefined || yielded) {
        throw error;
      }
    }
    // `before` is no checkpoint of this lineage: LangGraph then compares ids.
    for await (const record of this.client.listAll(String(threadId), scope)) {
      if (record.checkpointId < beforeId) {
        yield record;
      }
    }
  }

  override async put(
    config: RunnableConfig,
    checkpoint: LangGraphCheckpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const conf = config.configurable;
    if (conf === undefined || conf.thread_id === undefined || conf.thread_id === null) {
      throw new InvalidArgumentError(
        'the config has no "thread_id" in its "configurable": a checkpointer needs one to know which thread to save',
      );
    }
    const record = await this.#toRecord(config, checkpoint, metadata, newVersions, false);
    record.executionId = String(conf.thread_id);
    try {
      await this.#saveDroppingMissing(record);
    } catch (error) {
      if (!(error instanceof ConflictError)) {
        throw error;
      }
      // A channel version already stored with another value (a checkpoint put by hand
      // may do that; LangGraph's own versions never do): its values go under versions of
      // its own. A conflict on the checkpoint id itself is raised again, as it should be.
      const own = await this.#toRecord(config, checkpoint, metadata, newVersions, true);
      own.executionId = record.executionId;
      await this.client.save(own);
    }
    return threadConfig(record.executionId, record.namespace ?? "", checkpoint.id);
  }

  /**
   * Save; a channel that refers to a version the lineage never stored (it was not in
   * `newVersions` of any put) is left out, as LangGraph's own savers leave it out.
   */
  async #saveDroppingMissing(record: NewCheckpoint & { channels: Record<string, Channel> }): Promise<void> {
    for (;;) {
      try {
        await this.client.save(record);
        return;
      } catch (error) {
        if (!(error instanceof NotFoundError)) {
          throw error;
        }
        const name = missingChannel(error);
        const ch = name === undefined ? undefined : record.channels[name];
        if (name !== undefined && ch !== undefined && ch.value === undefined) {
          delete record.channels[name];
        } else {
          // Not told which: leave out every reference.
          const references = Object.entries(record.channels).filter(([, c]) => c.value === undefined);
          if (references.length === 0) {
            throw error;
          }
          for (const [key] of references) {
            delete record.channels[key];
          }
        }
      }
    }
  }

  override async putWrites(config: RunnableConfig, writes: LangGraphWrite[], taskId: string, taskPath = ""): Promise<void> {
    const conf = config.configurable ?? {};
    if (conf.thread_id === undefined || conf.thread_id === null) {
      throw new InvalidArgumentError('the config has no "thread_id" in its "configurable"');
    }
    if (!conf.checkpoint_id) {
      throw new InvalidArgumentError('the config has no "checkpoint_id" in its "configurable"');
    }
    const records = await Promise.all(
      writes.map(async ([channel, value], idx): Promise<PendingWrite> => {
        const [data, type] = await this.#dump(value);
        return {
          taskId,
          idx: WRITES_IDX_MAP[channel] ?? idx,
          channel,
          value: data,
          contentType: type,
          taskPath,
        };
      }),
    );
    await this.client.putWrites(String(conf.thread_id), String(conf.checkpoint_id), records, {
      namespace: (conf.checkpoint_ns as string | undefined) ?? "",
    });
  }

  override async deleteThread(threadId: string): Promise<void> {
    await this.client.clear(threadId);
  }

  /**
   * The pending writes (and seed value) of `channels` along a checkpoint's parent chain,
   * for LangGraph's DeltaChannel: one `Ancestors` call per page, whatever the number of
   * channels, instead of one `getTuple` per ancestor.
   */
  override async getDeltaChannelHistory(options: {
    config: RunnableConfig;
    channels: string[];
  }): Promise<Record<string, DeltaChannelHistory>> {
    const { config, channels } = options;
    if (channels.length === 0) {
      return {};
    }
    const conf = config.configurable ?? {};
    const threadId = String(conf.thread_id);
    const namespace = (conf.checkpoint_ns as string | undefined) ?? "";
    const collected = new Map<string, CheckpointPendingWrite[]>(channels.map((c) => [c, []]));
    const seeds = new Map<string, unknown>();
    let target: string | undefined = getCheckpointId(config) || undefined;
    if (target === undefined) {
      try {
        target = (await this.client.latest(threadId, { namespace })).checkpointId;
      } catch (error) {
        if (!(error instanceof NotFoundError)) {
          throw error;
        }
      }
    }
    let pageToken: string | undefined;
    while (target !== undefined) {
      let page;
      try {
        page = await this.client.ancestors(threadId, target, { namespace, channels, pageToken, pageSize: 1000 });
      } catch (error) {
        if (error instanceof NotFoundError) {
          break;
        }
        throw error;
      }
      for (const record of page.items) {
        // Newest first; within a checkpoint, writes newest first too.
        for (const write of (await this.#writes(record.pendingWrites)).reverse()) {
          const list = collected.get(write[1]);
          if (list !== undefined && !seeds.has(write[1])) {
            list.push(write);
          }
        }
        for (const [name, ch] of Object.entries(record.channels)) {
          if (collected.has(name) && !seeds.has(name)) {
            seeds.set(name, await this.#load(ch.value, ch.contentType));
          }
        }
      }
      pageToken = page.nextPageToken;
      if (pageToken === undefined) {
        break;
      }
    }
    const result: Record<string, DeltaChannelHistory> = {};
    for (const name of channels) {
      const entry: DeltaChannelHistory = { writes: [...(collected.get(name) ?? [])].reverse() };
      if (seeds.has(name)) {
        entry.seed = seeds.get(name);
      }
      result[name] = entry;
    }
    return result;
  }

  /**
   * An increasing integer part, as LangGraph's default, plus a random fraction (as
   * LangGraph's PostgresSaver and the Python saver add a random part), so that two forks
   * of one checkpoint never store different values under one channel version.
   */
  override getNextVersion(current: number | undefined): number {
    const whole = typeof current === "number" ? Math.trunc(current) : 0;
    return whole + 1 + Math.random() / 2;
  }
}
