package io.checkpointgateway.client;

import io.checkpointgateway.v1.AncestorsRequest;
import io.checkpointgateway.v1.CheckpointServiceGrpc;
import io.checkpointgateway.v1.CheckpointServiceGrpc.CheckpointServiceBlockingStub;
import io.checkpointgateway.v1.ClearRequest;
import io.checkpointgateway.v1.CopyExecutionRequest;
import io.checkpointgateway.v1.DeleteRequest;
import io.checkpointgateway.v1.DeleteWhereRequest;
import io.checkpointgateway.v1.Execution;
import io.checkpointgateway.v1.LatestRequest;
import io.checkpointgateway.v1.ListExecutionsRequest;
import io.checkpointgateway.v1.ListExecutionsResponse;
import io.checkpointgateway.v1.ListNamespacesRequest;
import io.checkpointgateway.v1.ListNamespacesResponse;
import io.checkpointgateway.v1.ListRequest;
import io.checkpointgateway.v1.ListResponse;
import io.checkpointgateway.v1.LoadRequest;
import io.checkpointgateway.v1.PruneRequest;
import io.checkpointgateway.v1.PutWritesRequest;
import io.checkpointgateway.v1.SaveManyRequest;
import io.checkpointgateway.v1.SaveManyResponse;
import io.checkpointgateway.v1.SaveRequest;
import io.checkpointgateway.v1.SaveResponse;
import io.checkpointgateway.v1.SearchRequest;
import io.grpc.CallOptions;
import io.grpc.ChannelCredentials;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.Deadline;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.File;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.net.ssl.TrustManager;

/**
 * A client of checkpoint-gateway: every RPC of {@code checkpoint_gateway.v1.CheckpointService}
 * over one gRPC channel, with blocking calls, deadlines, TLS and call metadata.
 *
 * <pre>{@code
 * try (CheckpointGatewayClient client =
 *     CheckpointGatewayClient.newBuilder("gateway:50051")
 *         .trustCertificates(new File("ca.pem"))
 *         .token(System.getenv("GATEWAY_TOKEN"))
 *         .build()) {
 *   Checkpoint saved = client.save(Checkpoint.newBuilder("thread-1").jsonState("{}").build());
 *   Checkpoint latest = client.withDeadlineAfter(2, TimeUnit.SECONDS).latest("thread-1");
 * }
 * }</pre>
 *
 * <p>Every failure is an unchecked {@link CheckpointGatewayException} subclass named after its
 * status ({@link NotFoundException}, {@link ConflictException}...). Each call has the
 * builder's default deadline (10 s) unless a view made by {@link #withDeadlineAfter} or
 * {@link #withDeadline} gives it another. UNAVAILABLE is retried by gRPC (at most 4 attempts,
 * with backoff, within the deadline); no other code is. Thread-safe.
 */
public final class CheckpointGatewayClient implements AutoCloseable {
  /** The deadline of each call unless the builder or a view says otherwise. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(10);

  private static final String SERVICE = CheckpointServiceGrpc.SERVICE_NAME;
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final CheckpointServiceBlockingStub stub;
  private final Duration defaultDeadline;
  private final Deadline deadline;
  private final String target;

  private CheckpointGatewayClient(
      ManagedChannel channel,
      boolean ownsChannel,
      CheckpointServiceBlockingStub stub,
      Duration defaultDeadline,
      Deadline deadline,
      String target) {
    this.channel = channel;
    this.ownsChannel = ownsChannel;
    this.stub = stub;
    this.defaultDeadline = defaultDeadline;
    this.deadline = deadline;
    this.target = target;
  }

  /** A builder for a client of the gateway at {@code target} ({@code host:port}, or a gRPC URI). */
  public static Builder newBuilder(String target) {
    return new Builder(target);
  }

  /** The target this client connects to. */
  public String target() {
    return target;
  }

  /**
   * A view of this client whose calls must finish within {@code duration} from now (as
   * grpc-java's {@code stub.withDeadlineAfter}: the deadline is fixed when the view is made,
   * so make one per call or per group of calls). It shares the channel; closing it does
   * nothing.
   */
  public CheckpointGatewayClient withDeadlineAfter(long duration, TimeUnit unit) {
    return withDeadline(Deadline.after(duration, unit));
  }

  /** A view of this client whose calls must finish by {@code deadline}; it shares the channel. */
  public CheckpointGatewayClient withDeadline(Deadline deadline) {
    return new CheckpointGatewayClient(
        channel, false, stub, defaultDeadline, Objects.requireNonNull(deadline, "deadline"), target);
  }

  // ---- checkpoints ------------------------------------------------------------------------

  /**
   * Saves a new checkpoint and returns it as stored (its id, version and creation time; its
   * channels as references, pending writes empty). An empty checkpoint id is replaced by a
   * time-ordered UUIDv7 chosen here, so a retried save is idempotent; saving the same id
   * again with the same content returns the stored version.
   *
   * @throws ConflictException the id was saved before with different content
   * @throws NotFoundException a channel without a value refers to no stored version
   */
  public Checkpoint save(Checkpoint checkpoint) {
    return save(checkpoint, null);
  }

  /**
   * Saves only if the lineage's latest version is {@code expectedVersion} (0: the lineage must
   * be empty): compare-and-set.
   *
   * @throws ConflictException the latest version is another one; nothing was written
   */
  public Checkpoint save(Checkpoint checkpoint, Long expectedVersion) {
    Checkpoint withId = withId(checkpoint);
    SaveRequest request = saveRequest(withId, expectedVersion);
    SaveResponse reply = call(s -> s.save(request));
    return saved(withId, reply);
  }

  /**
   * Saves several checkpoints in one call, in order, each on its own: one result per item,
   * either the stored checkpoint or the exception its save alone would have thrown.
   *
   * @param expectedVersions null, or one expected version (or null) per checkpoint
   */
  public List<SaveResult> saveMany(List<Checkpoint> checkpoints, List<Long> expectedVersions) {
    if (expectedVersions != null && expectedVersions.size() != checkpoints.size()) {
      throw new IllegalArgumentException(
          expectedVersions.size() + " expected versions for " + checkpoints.size() + " checkpoints");
    }
    if (checkpoints.isEmpty()) {
      return List.of();
    }
    List<Checkpoint> items = new ArrayList<>(checkpoints.size());
    SaveManyRequest.Builder request = SaveManyRequest.newBuilder();
    for (int i = 0; i < checkpoints.size(); i++) {
      Checkpoint cp = withId(checkpoints.get(i));
      items.add(cp);
      request.addSaves(saveRequest(cp, expectedVersions == null ? null : expectedVersions.get(i)));
    }
    SaveManyRequest built = request.build();
    SaveManyResponse reply = call(s -> s.saveMany(built));
    if (reply.getResultsCount() != items.size()) {
      throw new InternalException(
          "the gateway answered " + reply.getResultsCount() + " results for " + items.size() + " saves");
    }
    List<SaveResult> out = new ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      io.checkpointgateway.v1.SaveResult r = reply.getResults(i);
      if (r.hasSaved()) {
        out.add(SaveResult.saved(saved(items.get(i), r.getSaved())));
      } else {
        Status status =
            Status.fromCodeValue(r.getError().getCode()).withDescription(r.getError().getMessage());
        out.add(SaveResult.failed(CheckpointGatewayException.fromStatus(status)));
      }
    }
    return out;
  }

  /** {@link #saveMany(List, List)} without compare-and-set. */
  public List<SaveResult> saveMany(List<Checkpoint> checkpoints) {
    return saveMany(checkpoints, null);
  }

  /** One checkpoint of the root namespace, with its pending writes. */
  public Checkpoint load(String executionId, String checkpointId) {
    return load(executionId, "", checkpointId);
  }

  /**
   * One checkpoint with its pending writes.
   *
   * @throws NotFoundException there is no such checkpoint
   */
  public Checkpoint load(String executionId, String namespace, String checkpointId) {
    LoadRequest request =
        LoadRequest.newBuilder()
            .setExecutionId(executionId)
            .setNamespace(namespace)
            .setCheckpointId(checkpointId)
            .build();
    return Convert.fromProto(call(s -> s.load(request)).getCheckpoint());
  }

  /** The newest checkpoint of the root namespace, with its pending writes. */
  public Checkpoint latest(String executionId) {
    return latest(executionId, "");
  }

  /**
   * The newest checkpoint (the highest version) of a lineage, with its pending writes.
   *
   * @throws NotFoundException the lineage holds no checkpoint
   */
  public Checkpoint latest(String executionId, String namespace) {
    LatestRequest request =
        LatestRequest.newBuilder().setExecutionId(executionId).setNamespace(namespace).build();
    return Convert.fromProto(call(s -> s.latest(request)).getCheckpoint());
  }

  /** The first page of the root namespace's checkpoints, newest first. */
  public Page<Checkpoint> list(String executionId) {
    return list(executionId, "", ListOptions.defaults());
  }

  /** One page of a lineage's checkpoints, newest first (an empty page when there are none). */
  public Page<Checkpoint> list(String executionId, String namespace, ListOptions options) {
    ListRequest request =
        ListRequest.newBuilder()
            .setExecutionId(executionId)
            .setNamespace(namespace)
            .setPageSize(options.pageSize)
            .setPageToken(options.pageToken)
            .setBefore(options.before)
            .setMetadataFilter(options.metadataFilter)
            .setAllNamespaces(options.allNamespaces)
            .setIncludeWrites(options.includeWrites)
            .build();
    ListResponse reply = call(s -> s.list(request));
    return Convert.page(reply.getCheckpointsList(), reply.getNextPageToken());
  }

  /**
   * One page of the checkpoints of every execution and namespace whose metadata matches
   * {@code metadataFilter} (a JSON object; "" matches all), newest first. Of the options,
   * page size, page token and include writes apply.
   */
  public Page<Checkpoint> search(String metadataFilter, ListOptions options) {
    if (!options.before.isEmpty() || options.allNamespaces) {
      throw new IllegalArgumentException("search takes no before and no allNamespaces");
    }
    SearchRequest request =
        SearchRequest.newBuilder()
            .setMetadataFilter(metadataFilter == null ? "" : metadataFilter)
            .setPageSize(options.pageSize)
            .setPageToken(options.pageToken)
            .setIncludeWrites(options.includeWrites)
            .build();
    ListResponse reply = call(s -> s.search(request));
    return Convert.page(reply.getCheckpointsList(), reply.getNextPageToken());
  }

  /**
   * One page of an execution's namespaces that hold checkpoints, in code point order ("" first).
   *
   * @param pageSize 0 for the gateway's default
   * @param pageToken "" or null for the first page
   */
  public Page<String> namespaces(String executionId, int pageSize, String pageToken) {
    ListNamespacesRequest request =
        ListNamespacesRequest.newBuilder()
            .setExecutionId(executionId)
            .setPageSize(pageSize)
            .setPageToken(pageToken == null ? "" : pageToken)
            .build();
    ListNamespacesResponse reply = call(s -> s.listNamespaces(request));
    return new Page<>(reply.getNamespacesList(), reply.getNextPageToken());
  }

  /** One page of the executions that hold checkpoints, the most recently saved to first. */
  public Page<ExecutionInfo> executions(int pageSize, String pageToken) {
    ListExecutionsRequest request =
        ListExecutionsRequest.newBuilder()
            .setPageSize(pageSize)
            .setPageToken(pageToken == null ? "" : pageToken)
            .build();
    ListExecutionsResponse reply = call(s -> s.listExecutions(request));
    List<ExecutionInfo> out = new ArrayList<>();
    for (Execution e : reply.getExecutionsList()) {
      out.add(
          new ExecutionInfo(
              e.getExecutionId(), e.hasUpdatedAt() ? Convert.instant(e.getUpdatedAt()) : null));
    }
    return new Page<>(out, reply.getNextPageToken());
  }

  /**
   * Walks a checkpoint's parent chain, newest first (the parent first, or the checkpoint
   * itself with {@link AncestorsOptions.Builder#includeSelf}), one page at a time.
   */
  public Page<Checkpoint> ancestors(
      String executionId, String namespace, String checkpointId, AncestorsOptions options) {
    AncestorsRequest request =
        AncestorsRequest.newBuilder()
            .setExecutionId(executionId)
            .setNamespace(namespace)
            .setCheckpointId(checkpointId)
            .setIncludeSelf(options.includeSelf)
            .addAllChannels(options.channels)
            .setIncludeState(options.includeState)
            .setPageSize(options.pageSize)
            .setPageToken(options.pageToken)
            .build();
    io.checkpointgateway.v1.AncestorsResponse reply = call(s -> s.ancestors(request));
    return Convert.page(reply.getCheckpointsList(), reply.getNextPageToken());
  }

  /** Deletes one checkpoint of the root namespace; see {@link #delete(String, String, String)}. */
  public boolean delete(String executionId, String checkpointId) {
    return delete(executionId, "", checkpointId);
  }

  /**
   * Deletes one checkpoint and its pending writes.
   *
   * @return false when there was no such checkpoint (that is not an error)
   */
  public boolean delete(String executionId, String namespace, String checkpointId) {
    DeleteRequest request =
        DeleteRequest.newBuilder()
            .setExecutionId(executionId)
            .setNamespace(namespace)
            .setCheckpointId(checkpointId)
            .build();
    return call(s -> s.delete(request)).getDeleted();
  }

  /** Deletes every checkpoint of an execution, in every namespace; returns how many. */
  public long clear(String executionId) {
    ClearRequest request = ClearRequest.newBuilder().setExecutionId(executionId).build();
    return call(s -> s.clear(request)).getDeleted();
  }

  /** Deletes every checkpoint of one namespace of an execution; returns how many. */
  public long clear(String executionId, String namespace) {
    ClearRequest request =
        ClearRequest.newBuilder().setExecutionId(executionId).setNamespace(namespace).build();
    return call(s -> s.clear(request)).getDeleted();
  }

  /** Stores pending writes against a checkpoint of the root namespace. */
  public long putWrites(String executionId, String checkpointId, List<PendingWrite> writes) {
    return putWrites(executionId, "", checkpointId, writes);
  }

  /**
   * Stores a task's pending writes against a checkpoint (which need not be saved yet). A write
   * is keyed by (task id, idx): for idx &gt;= 0 the first write wins, a special write (idx &lt;
   * 0) replaces the earlier one.
   *
   * @return how many writes the gateway stored
   */
  public long putWrites(
      String executionId, String namespace, String checkpointId, List<PendingWrite> writes) {
    PutWritesRequest.Builder request =
        PutWritesRequest.newBuilder()
            .setExecutionId(executionId)
            .setNamespace(namespace)
            .setCheckpointId(checkpointId);
    for (PendingWrite w : writes) {
      request.addWrites(Convert.toProto(w));
    }
    PutWritesRequest built = request.build();
    return call(s -> s.putWrites(built)).getStored();
  }

  /** Deletes every checkpoint, of every execution, whose metadata matches; returns how many. */
  public long deleteWhere(String metadataFilter) {
    DeleteWhereRequest request =
        DeleteWhereRequest.newBuilder().setMetadataFilter(metadataFilter).build();
    return call(s -> s.deleteWhere(request)).getDeleted();
  }

  /** Deletes the checkpoints of one execution whose metadata matches; returns how many. */
  public long deleteWhere(String metadataFilter, String executionId) {
    DeleteWhereRequest request =
        DeleteWhereRequest.newBuilder()
            .setMetadataFilter(metadataFilter)
            .setExecutionId(executionId)
            .build();
    return call(s -> s.deleteWhere(request)).getDeleted();
  }

  /**
   * Copies an execution, every namespace and checkpoint, to a new execution id.
   *
   * @return how many checkpoints were copied
   * @throws ConflictException the target holds checkpoints
   * @throws NotFoundException the source holds none
   */
  public long copyExecution(String sourceExecutionId, String targetExecutionId) {
    CopyExecutionRequest request =
        CopyExecutionRequest.newBuilder()
            .setSourceExecutionId(sourceExecutionId)
            .setTargetExecutionId(targetExecutionId)
            .build();
    return call(s -> s.copyExecution(request)).getCopied();
  }

  /** Thins executions (keep the latest of each namespace, or delete all); returns how many went. */
  public long prune(List<String> executionIds, PruneStrategy strategy) {
    PruneRequest request =
        PruneRequest.newBuilder()
            .addAllExecutionIds(executionIds)
            .setStrategy(
                strategy == PruneStrategy.DELETE_ALL
                    ? io.checkpointgateway.v1.PruneStrategy.PRUNE_STRATEGY_DELETE_ALL
                    : io.checkpointgateway.v1.PruneStrategy.PRUNE_STRATEGY_KEEP_LATEST)
            .build();
    return call(s -> s.prune(request)).getDeleted();
  }

  /**
   * Closes the channel (a view made by {@link #withDeadline} does not own it, and closing it
   * does nothing) and waits up to 5 s for calls under way.
   */
  @Override
  public void close() {
    if (!ownsChannel) {
      return;
    }
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  // ---- internals --------------------------------------------------------------------------

  private <T> T call(Function<CheckpointServiceBlockingStub, T> rpc) {
    CheckpointServiceBlockingStub s = stub;
    if (deadline != null) {
      s = s.withDeadline(deadline);
    } else if (defaultDeadline != null) {
      s = s.withDeadlineAfter(defaultDeadline.toNanos(), TimeUnit.NANOSECONDS);
    }
    try {
      return rpc.apply(s);
    } catch (StatusRuntimeException e) {
      throw CheckpointGatewayException.from(e);
    }
  }

  private static Checkpoint withId(Checkpoint cp) {
    return cp.checkpointId().isEmpty()
        ? cp.toBuilder().checkpointId(CheckpointIds.newId()).build()
        : cp;
  }

  private static SaveRequest saveRequest(Checkpoint cp, Long expectedVersion) {
    SaveRequest.Builder b = SaveRequest.newBuilder().setCheckpoint(Convert.toProto(cp));
    if (expectedVersion != null) {
      b.setExpectedVersion(expectedVersion);
    }
    return b.build();
  }

  /** What the gateway stored for {@code cp}, from its answer to the save. */
  private static Checkpoint saved(Checkpoint cp, SaveResponse reply) {
    Map<String, Channel> refs = new LinkedHashMap<>();
    cp.channels().forEach((name, ch) -> refs.put(name, Channel.reference(ch.version())));
    return cp.toBuilder()
        .checkpointId(reply.getCheckpointId())
        .version(reply.getVersion())
        .createdAt(reply.hasCreatedAt() ? Convert.instant(reply.getCreatedAt()) : null)
        .pendingWrites(List.of())
        .channels(refs)
        .build();
  }

  /** The gRPC service config: retry UNAVAILABLE only, 4 attempts, with a retry budget. */
  static Map<String, Object> defaultServiceConfig() {
    Map<String, Object> retry = new LinkedHashMap<>();
    retry.put("maxAttempts", 4.0);
    retry.put("initialBackoff", "0.1s");
    retry.put("maxBackoff", "1s");
    retry.put("backoffMultiplier", 2.0);
    retry.put("retryableStatusCodes", List.of("UNAVAILABLE"));
    Map<String, Object> method = new LinkedHashMap<>();
    method.put("name", List.of(Map.of("service", SERVICE)));
    method.put("retryPolicy", retry);
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("methodConfig", List.of(method));
    config.put("retryThrottling", Map.of("maxTokens", 10.0, "tokenRatio", 0.1));
    return config;
  }

  /** Adds the bearer token and the extra metadata to every call. */
  private static final class MetadataInterceptor implements ClientInterceptor {
    private final Supplier<String> token;
    private final Metadata extra;

    MetadataInterceptor(Supplier<String> token, Metadata extra) {
      this.token = token;
      this.extra = extra;
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
        MethodDescriptor<ReqT, RespT> method, CallOptions options, io.grpc.Channel next) {
      return new SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<RespT> listener, Metadata headers) {
          headers.merge(extra);
          if (token != null) {
            String value = token.get();
            if (value != null && !value.isEmpty()) {
              headers.put(AUTHORIZATION, "Bearer " + value);
            }
          }
          super.start(listener, headers);
        }
      };
    }
  }

  /**
   * Builds a {@link CheckpointGatewayClient}. TLS with the system's trusted roots unless told
   * otherwise ({@link #usePlaintext}, {@link #trustCertificates}, {@link #trustManager}).
   */
  public static final class Builder {
    private final String target;
    private ChannelCredentials credentials;
    private boolean plaintext;
    private File caFile;
    private TrustManager trustManager;
    private Supplier<String> token;
    private final Metadata metadata = new Metadata();
    private Duration defaultDeadline = DEFAULT_DEADLINE;
    private int maxMessageBytes = 64 * 1024 * 1024;
    private boolean retry = true;
    private String authority;

    private Builder(String target) {
      this.target = Objects.requireNonNull(target, "target");
    }

    /** No TLS: for a gateway on loopback or behind a TLS-terminating proxy. */
    public Builder usePlaintext() {
      this.plaintext = true;
      return this;
    }

    /** TLS, trusting the certificates of this PEM file (the CA that signs the gateway's). */
    public Builder trustCertificates(File caPem) {
      this.caFile = Objects.requireNonNull(caPem, "caPem");
      this.plaintext = false;
      return this;
    }

    /** TLS, trusting what this trust manager trusts. */
    public Builder trustManager(TrustManager trustManager) {
      this.trustManager = Objects.requireNonNull(trustManager, "trustManager");
      this.plaintext = false;
      return this;
    }

    /** Any gRPC channel credentials (mutual TLS, say); wins over the TLS settings above. */
    public Builder channelCredentials(ChannelCredentials credentials) {
      this.credentials = Objects.requireNonNull(credentials, "credentials");
      return this;
    }

    /** Overrides the authority (the TLS server name) the channel uses. */
    public Builder overrideAuthority(String authority) {
      this.authority = Objects.requireNonNull(authority, "authority");
      return this;
    }

    /** A bearer token, sent as {@code authorization: Bearer <token>} with every call. */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      this.token = () -> token;
      return this;
    }

    /** A token source asked at every call (for a token refreshed elsewhere, a short-lived JWT). */
    public Builder token(Supplier<String> token) {
      this.token = Objects.requireNonNull(token, "token");
      return this;
    }

    /** Call metadata sent with every call (an ASCII header such as {@code x-team}). */
    public Builder metadata(String key, String value) {
      metadata.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);
      return this;
    }

    /**
     * The deadline of each call, retries included, unless a view says otherwise (default:
     * {@link #DEFAULT_DEADLINE}); null: no deadline.
     */
    public Builder defaultDeadline(Duration deadline) {
      if (deadline != null && (deadline.isNegative() || deadline.isZero())) {
        throw new IllegalArgumentException("defaultDeadline must be positive");
      }
      this.defaultDeadline = deadline;
      return this;
    }

    /** The largest message sent or received (default 64 MiB). */
    public Builder maxMessageBytes(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxMessageBytes must be positive");
      }
      this.maxMessageBytes = bytes;
      return this;
    }

    /** Turns off gRPC's retries of UNAVAILABLE (on by default). */
    public Builder disableRetry() {
      this.retry = false;
      return this;
    }

    /**
     * Opens the channel (lazily: the first call connects).
     *
     * @throws IllegalArgumentException the CA file cannot be read
     */
    public CheckpointGatewayClient build() {
      ChannelCredentials creds = credentials;
      if (creds == null) {
        if (plaintext) {
          creds = InsecureChannelCredentials.create();
        } else {
          TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
          try {
            if (caFile != null) {
              tls.trustManager(caFile);
            } else if (trustManager != null) {
              tls.trustManager(trustManager);
            }
          } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the CA file " + caFile + ": " + e.getMessage(), e);
          }
          creds = tls.build();
        }
      }
      ManagedChannelBuilder<?> builder;
      try {
        builder = Grpc.newChannelBuilder(target, creds).maxInboundMessageSize(maxMessageBytes);
      } catch (UnsupportedOperationException e) {
        // Debian's netty has no JDK ALPN, which gRPC's TLS needs; OpenSSL (tcnative) has.
        throw new IllegalStateException(
            "TLS needs ALPN, which this JVM's netty cannot do with the JDK's TLS: put "
                + "netty-tcnative (libnetty_tcnative.so) on java.library.path (see the README)",
            e);
      }
      if (authority != null) {
        builder.overrideAuthority(authority);
      }
      if (retry) {
        builder.defaultServiceConfig(defaultServiceConfig()).enableRetry();
      } else {
        builder.disableRetry();
      }
      ManagedChannel channel = builder.build();
      CheckpointServiceBlockingStub stub =
          CheckpointServiceGrpc.newBlockingStub(
              ClientInterceptors.intercept(channel, new MetadataInterceptor(token, metadata)));
      return new CheckpointGatewayClient(channel, true, stub, defaultDeadline, null, target);
    }
  }
}
