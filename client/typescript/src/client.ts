/**
 * `CheckpointGatewayClient`: every RPC of the gateway's `CheckpointService`, typed.
 * @module
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  checkpointFromPb,
  checkpointToPb,
  executionFromPb,
  jsonText,
  pruneStrategyToPb,
  writeToPb,
  dateFromPb,
} from "./convert.js";
import {
  CheckpointError,
  InvalidArgumentError,
  UnavailableError,
  errorForCode,
  fromServiceError,
} from "./errors.js";
import { newCheckpointId } from "./ids.js";
import type {
  Checkpoint,
  ExecutionInfo,
  NewCheckpoint,
  Page,
  PendingWrite,
  PruneStrategy,
  Saved,
} from "./models.js";
import type { ProtoGrpcType } from "./generated/checkpoint.js";
import type {
  CheckpointServiceClient,
  CheckpointServiceDefinition,
} from "./generated/checkpoint_gateway/v1/CheckpointService.js";
import type { MethodDefinition } from "@grpc/proto-loader";
import type { SaveResponse__Output } from "./generated/checkpoint_gateway/v1/SaveResponse.js";

/**
 * Milliseconds a call may take, retries included, unless the client or the call says
 * otherwise: as the Python client's 10 s.
 */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * gRPC service config: retry UNAVAILABLE only (the gateway is draining or restarting, or
 * its backend is down), at most 4 attempts with exponential backoff, all within the
 * call's deadline; a retry budget stops retries once most calls fail. As in Python.
 */
export const DEFAULT_SERVICE_CONFIG = {
  methodConfig: [
    {
      name: [{ service: "checkpoint_gateway.v1.CheckpointService" }],
      retryPolicy: {
        maxAttempts: 4,
        initialBackoff: "0.1s",
        maxBackoff: "1s",
        backoffMultiplier: 2,
        retryableStatusCodes: ["UNAVAILABLE"],
      },
    },
  ],
  retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
} as const;

const MiB = 1024 * 1024;

/** Call metadata: header name to value (or values). */
export type MetadataInit = Record<string, string | readonly string[]> | grpc.Metadata;

/** TLS settings; PEM text or bytes. */
export interface TlsOptions {
  /** The CA that signs the gateway's certificate (default: the system's roots). */
  ca?: string | Uint8Array;
  /** A client certificate chain and its key, for a gateway that asks for mutual TLS. */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
}

/** How the client connects and what it sends with every call. */
export interface ClientOptions {
  /** Deadline of each call in milliseconds, retries included; `null`: none. */
  timeoutMs?: number | null;
  /** `true` or TLS settings: connect over TLS (plaintext otherwise). */
  tls?: boolean | TlsOptions;
  /** Ready-made channel credentials (instead of `tls`). */
  credentials?: grpc.ChannelCredentials;
  /** Metadata sent with every call. */
  metadata?: MetadataInit;
  /**
   * A bearer token (sent as `authorization: Bearer <token>`), or a function that returns
   * the current one; it is asked for every call, so a refreshed token is always used.
   */
  token?: string | (() => string | Promise<string>);
  /** The client's retry policy; `null` turns client retries off. */
  serviceConfig?: object | null;
  /** Largest message sent or received (default 64 MiB). */
  maxMessageBytes?: number;
  /** Extra gRPC channel options. */
  channelOptions?: grpc.ChannelOptions;
}

/** What one call may override. */
export interface CallOptions {
  /** This call's deadline in milliseconds (`null`: none); the client's default otherwise. */
  timeoutMs?: number | null;
  /** Metadata for this call, added to the client's. */
  metadata?: MetadataInit;
  /** Cancels the call. */
  signal?: AbortSignal;
}

export interface NamespaceOptions extends CallOptions {
  namespace?: string;
}

export interface SaveOptions extends CallOptions {
  /** Compare-and-set: save only if the lineage's latest version is this (0: empty). */
  expectedVersion?: number;
}

export interface PageOptions extends CallOptions {
  /** 0 or absent: the gateway's default page size. */
  pageSize?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
}

export interface ListOptions extends PageOptions {
  namespace?: string;
  /** Only checkpoints older than this checkpoint id. */
  before?: string;
  /** Only checkpoints whose metadata has each key with an equal scalar value. */
  metadataFilter?: Record<string, string | number | boolean | null>;
  /** Every namespace of the execution, newest first (`namespace` then only locates `before`). */
  allNamespaces?: boolean;
  /** Fill each checkpoint's `pendingWrites`. */
  includeWrites?: boolean;
}

export interface SearchOptions extends PageOptions {
  metadataFilter?: Record<string, string | number | boolean | null>;
  includeWrites?: boolean;
}

export interface AncestorsOptions extends PageOptions {
  namespace?: string;
  /** Start the walk with the checkpoint itself, not its parent. */
  includeSelf?: boolean;
  /** Only these channels (and writes to them), and stop once each has been found. */
  channels?: readonly string[];
  /** Fill `state` (left empty by default). */
  includeState?: boolean;
}

export interface ClearOptions extends CallOptions {
  /** Absent: every namespace of the execution; given (even ""): that one only. */
  namespace?: string;
}

export interface DeleteWhereOptions extends CallOptions {
  /** Within this execution only (absent: across every execution). */
  executionId?: string;
}

/** One item of a `saveMany`: a checkpoint and its compare-and-set version. */
export interface SaveManyItem {
  checkpoint: NewCheckpoint;
  expectedVersion?: number;
}

const PROTO_ROOT = fileURLToPath(new URL("../proto/", import.meta.url));
const PROTO_FILE = "checkpoint_gateway/v1/checkpoint.proto";

let loaded: ProtoGrpcType | undefined;

/** The service's definition, loaded once from the .proto this package ships. */
function proto(): ProtoGrpcType {
  if (loaded === undefined) {
    // These options must match the ones ./generate gives proto-loader-gen-types.
    const definition = protoLoader.loadSync(PROTO_FILE, {
      includeDirs: [PROTO_ROOT],
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return loaded;
}

/** The RPCs, with their request and (decoded) response types. */
type Rpc = keyof CheckpointServiceDefinition;
/* eslint-disable @typescript-eslint/no-explicit-any -- `any` is what `infer` needs here */
type RequestOf<K extends Rpc> =
  CheckpointServiceDefinition[K] extends MethodDefinition<infer Req, any, any, any> ? Req : never;
type ReplyOf<K extends Rpc> =
  CheckpointServiceDefinition[K] extends MethodDefinition<any, any, any, infer Res> ? Res : never;
/* eslint-enable @typescript-eslint/no-explicit-any */

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

function toBuffer(value: string | Uint8Array | undefined): Buffer | null {
  if (value === undefined) {
    return null;
  }
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}

function addMetadata(target: grpc.Metadata, init: MetadataInit | undefined): void {
  if (init === undefined) {
    return;
  }
  if (init instanceof grpc.Metadata) {
    target.merge(init);
    return;
  }
  for (const [key, value] of Object.entries(init)) {
    for (const item of typeof value === "string" ? [value] : value) {
      target.add(key, item);
    }
  }
}

function pageSize(size: number | undefined): number {
  if (size === undefined) {
    return 0;
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new InvalidArgumentError("pageSize must be a positive integer");
  }
  return Math.min(size, 2 ** 31 - 1);
}

function filterJson(filter: Record<string, unknown> | undefined): string {
  return filter === undefined ? "" : jsonText(filter, "metadataFilter");
}

function saved(reply: SaveResponse__Output): Saved {
  return {
    checkpointId: reply.checkpointId,
    version: Number(reply.version),
    createdAt: dateFromPb(reply.createdAt),
  };
}

/**
 * A client of a checkpoint-gateway: every RPC of the wire contract, with our models in
 * and out, errors as {@link CheckpointError} subclasses, a deadline on every call, TLS
 * and call metadata (a bearer `token`).
 *
 * @example
 * ```ts
 * const client = new CheckpointGatewayClient("127.0.0.1:50051", { token: "..." });
 * const saved = await client.save({ executionId: "run-1", state: { step: 1 } });
 * const latest = await client.latest("run-1");
 * client.close();
 * ```
 */
export class CheckpointGatewayClient {
  /** The gateway this client talks to. */
  readonly target: string;
  readonly #stub: CheckpointServiceClient;
  readonly #timeoutMs: number | null;
  readonly #metadata: MetadataInit | undefined;
  readonly #token: ClientOptions["token"];

  constructor(target: string, options: ClientOptions = {}) {
    this.target = target;
    this.#timeoutMs = options.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : options.timeoutMs;
    this.#metadata = options.metadata;
    this.#token = options.token;
    const max = options.maxMessageBytes ?? 64 * MiB;
    const channelOptions: grpc.ChannelOptions = {
      "grpc.max_send_message_length": max,
      "grpc.max_receive_message_length": max,
      ...options.channelOptions,
    };
    const serviceConfig = options.serviceConfig === undefined ? DEFAULT_SERVICE_CONFIG : options.serviceConfig;
    if (serviceConfig !== null && !("grpc.service_config" in channelOptions)) {
      channelOptions["grpc.service_config"] = JSON.stringify(serviceConfig);
    }
    let credentials = options.credentials;
    if (credentials === undefined) {
      const tls = options.tls;
      if (tls === undefined || tls === false) {
        credentials = grpc.credentials.createInsecure();
      } else {
        const settings = tls === true ? {} : tls;
        credentials = grpc.credentials.createSsl(
          toBuffer(settings.ca),
          toBuffer(settings.key),
          toBuffer(settings.cert),
        );
      }
    }
    const Service = proto().checkpoint_gateway.v1.CheckpointService;
    this.#stub = new Service(target, credentials, channelOptions);
  }

  /** Close the connection; calls in flight are cancelled. */
  close(): void {
    this.#stub.close();
  }

  /** Wait until the channel is connected (or `timeoutMs` passed: UnavailableError). */
  async waitForReady(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#stub.waitForReady(Date.now() + timeoutMs, (error) => {
        if (error) {
          reject(new UnavailableError(`the gateway at ${this.target} is not reachable: ${error.message}`));
        } else {
          resolve();
        }
      });
    });
  }

  async #metadataFor(call: CallOptions): Promise<grpc.Metadata> {
    const metadata = new grpc.Metadata();
    addMetadata(metadata, this.#metadata);
    addMetadata(metadata, call.metadata);
    if (this.#token !== undefined) {
      const token = typeof this.#token === "function" ? await this.#token() : this.#token;
      metadata.set("authorization", `Bearer ${token}`);
    }
    return metadata;
  }

  async #call<K extends Rpc>(rpc: K, request: RequestOf<K>, call: CallOptions): Promise<ReplyOf<K>> {
    const method = (this.#stub as unknown as Record<Rpc, unknown>)[rpc] as Unary<RequestOf<K>, ReplyOf<K>>;
    const metadata = await this.#metadataFor(call);
    const timeout = call.timeoutMs === undefined ? this.#timeoutMs : call.timeoutMs;
    const options: grpc.CallOptions = {};
    if (timeout !== null && Number.isFinite(timeout)) {
      options.deadline = new Date(Date.now() + timeout);
    }
    const signal = call.signal;
    signal?.throwIfAborted();
    return await new Promise<ReplyOf<K>>((resolve, reject) => {
      const onAbort = (): void => {
        pending.cancel();
      };
      const pending = method.call(this.#stub, request, metadata, options, (error, reply) => {
        signal?.removeEventListener("abort", onAbort);
        if (error) {
          if (error.code === grpc.status.CANCELLED && signal?.aborted) {
            reject(signal.reason);
          } else if (error.code === grpc.status.CANCELLED) {
            // Not our cancellation: the server or a proxy went away. Retryable.
            reject(new UnavailableError(`the call was cancelled by the server: ${error.details}`));
          } else {
            reject(fromServiceError(error));
          }
        } else if (reply === undefined) {
          reject(errorForCode(grpc.status.INTERNAL, "the gateway answered with no message"));
        } else {
          resolve(reply);
        }
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Store a new checkpoint. The client picks its id when none is given, so a retried
   * save is a no-op; `expectedVersion` makes it a compare-and-set (ConflictError).
   */
  async save(checkpoint: NewCheckpoint, options: SaveOptions = {}): Promise<Saved> {
    const request = {
      checkpoint: checkpointToPb({ ...checkpoint, checkpointId: checkpoint.checkpointId || newCheckpointId() }),
      ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
    };
    return saved(await this.#call("Save", request, options));
  }

  /**
   * Store several checkpoints in one call, each on its own: every item gets what it
   * stored or its own error, so one conflict does not fail the rest.
   */
  async saveMany(items: readonly SaveManyItem[], options: CallOptions = {}): Promise<(Saved | CheckpointError)[]> {
    if (items.length === 0) {
      return [];
    }
    const saves = items.map((item) => ({
      checkpoint: checkpointToPb({
        ...item.checkpoint,
        checkpointId: item.checkpoint.checkpointId || newCheckpointId(),
      }),
      ...(item.expectedVersion === undefined ? {} : { expectedVersion: item.expectedVersion }),
    }));
    const reply = await this.#call("SaveMany", { saves }, options);
    if (reply.results.length !== items.length) {
      throw errorForCode(
        grpc.status.INTERNAL,
        `the gateway answered ${reply.results.length} results for ${items.length} saves`,
      );
    }
    return reply.results.map((result) =>
      result.saved
        ? saved(result.saved)
        : errorForCode(result.error?.code ?? grpc.status.INTERNAL, result.error?.message ?? "no result"),
    );
  }

  /** One checkpoint with its channels and pending writes (NotFoundError if missing). */
  async load(executionId: string, checkpointId: string, options: NamespaceOptions = {}): Promise<Checkpoint> {
    const reply = await this.#call(
      "Load",
      { executionId, checkpointId, namespace: options.namespace ?? "" },
      options,
    );
    return checkpointFromPb(reply.checkpoint);
  }

  /** The newest checkpoint of a lineage (NotFoundError when it has none). */
  async latest(executionId: string, options: NamespaceOptions = {}): Promise<Checkpoint> {
    const reply = await this.#call("Latest", { executionId, namespace: options.namespace ?? "" }, options);
    return checkpointFromPb(reply.checkpoint);
  }

  /** One page of an execution's checkpoints, newest first. */
  async list(executionId: string, options: ListOptions = {}): Promise<Page<Checkpoint>> {
    const reply = await this.#call(
      "List",
      {
        executionId,
        namespace: options.namespace ?? "",
        pageSize: pageSize(options.pageSize),
        pageToken: options.pageToken ?? "",
        before: options.before ?? "",
        metadataFilter: filterJson(options.metadataFilter),
        allNamespaces: options.allNamespaces ?? false,
        includeWrites: options.includeWrites ?? false,
      },
      options,
    );
    return { items: reply.checkpoints.map(checkpointFromPb), nextPageToken: reply.nextPageToken || undefined };
  }

  /** Every checkpoint `list` would return, page after page. */
  async *listAll(executionId: string, options: ListOptions = {}): AsyncGenerator<Checkpoint> {
    let pageToken = options.pageToken;
    do {
      const page = await this.list(executionId, { ...options, pageToken });
      yield* page.items;
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined);
  }

  /** One page of checkpoints across every execution and namespace, newest first. */
  async search(options: SearchOptions = {}): Promise<Page<Checkpoint>> {
    const reply = await this.#call(
      "Search",
      {
        metadataFilter: filterJson(options.metadataFilter),
        pageSize: pageSize(options.pageSize),
        pageToken: options.pageToken ?? "",
        includeWrites: options.includeWrites ?? false,
      },
      options,
    );
    return { items: reply.checkpoints.map(checkpointFromPb), nextPageToken: reply.nextPageToken || undefined };
  }

  /** One page of the namespaces of an execution that hold checkpoints ("" first). */
  async listNamespaces(executionId: string, options: PageOptions = {}): Promise<Page<string>> {
    const reply = await this.#call(
      "ListNamespaces",
      { executionId, pageSize: pageSize(options.pageSize), pageToken: options.pageToken ?? "" },
      options,
    );
    return { items: [...reply.namespaces], nextPageToken: reply.nextPageToken || undefined };
  }

  /** One page of the executions that hold checkpoints, most recently saved to first. */
  async listExecutions(options: PageOptions = {}): Promise<Page<ExecutionInfo>> {
    const reply = await this.#call(
      "ListExecutions",
      { pageSize: pageSize(options.pageSize), pageToken: options.pageToken ?? "" },
      options,
    );
    return { items: reply.executions.map(executionFromPb), nextPageToken: reply.nextPageToken || undefined };
  }

  /** Remove one checkpoint and its writes; false when there was none. */
  async delete(executionId: string, checkpointId: string, options: NamespaceOptions = {}): Promise<boolean> {
    const reply = await this.#call(
      "Delete",
      { executionId, checkpointId, namespace: options.namespace ?? "" },
      options,
    );
    return reply.deleted;
  }

  /** Remove every checkpoint of an execution (or of one namespace); how many. */
  async clear(executionId: string, options: ClearOptions = {}): Promise<number> {
    const request = options.namespace === undefined ? { executionId } : { executionId, namespace: options.namespace };
    const reply = await this.#call("Clear", request, options);
    return Number(reply.deleted);
  }

  /**
   * Store a task's pending writes against a checkpoint (saved yet or not). A write is
   * keyed by `(taskId, idx)`: the first one wins for idx >= 0, the last for idx < 0.
   */
  async putWrites(
    executionId: string,
    checkpointId: string,
    writes: readonly PendingWrite[],
    options: NamespaceOptions = {},
  ): Promise<number> {
    const reply = await this.#call(
      "PutWrites",
      { executionId, checkpointId, namespace: options.namespace ?? "", writes: writes.map(writeToPb) },
      options,
    );
    return Number(reply.stored);
  }

  /** Remove every checkpoint whose metadata matches (within one execution, or all). */
  async deleteWhere(
    metadataFilter: Record<string, string | number | boolean | null>,
    options: DeleteWhereOptions = {},
  ): Promise<number> {
    const request = {
      metadataFilter: filterJson(metadataFilter),
      ...(options.executionId === undefined ? {} : { executionId: options.executionId }),
    };
    const reply = await this.#call("DeleteWhere", request, options);
    return Number(reply.deleted);
  }

  /** Copy an execution, whole, to a new (empty) execution id; how many checkpoints. */
  async copyExecution(sourceExecutionId: string, targetExecutionId: string, options: CallOptions = {}): Promise<number> {
    const reply = await this.#call("CopyExecution", { sourceExecutionId, targetExecutionId }, options);
    return Number(reply.copied);
  }

  /** Keep only the latest checkpoint of each namespace, or delete everything. */
  async prune(
    executionIds: readonly string[],
    strategy: PruneStrategy = "keep_latest",
    options: CallOptions = {},
  ): Promise<number> {
    const reply = await this.#call(
      "Prune",
      { executionIds: [...executionIds], strategy: pruneStrategyToPb(strategy) },
      options,
    );
    return Number(reply.deleted);
  }

  /** One page of a checkpoint's parent chain, newest first. */
  async ancestors(executionId: string, checkpointId: string, options: AncestorsOptions = {}): Promise<Page<Checkpoint>> {
    const reply = await this.#call(
      "Ancestors",
      {
        executionId,
        checkpointId,
        namespace: options.namespace ?? "",
        includeSelf: options.includeSelf ?? false,
        channels: [...(options.channels ?? [])],
        includeState: options.includeState ?? false,
        pageSize: pageSize(options.pageSize),
        pageToken: options.pageToken ?? "",
      },
      options,
    );
    return { items: reply.checkpoints.map(checkpointFromPb), nextPageToken: reply.nextPageToken || undefined };
  }
}
