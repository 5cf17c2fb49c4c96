package io.checkpointgateway.client;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One snapshot of an agent graph: its state, where it is, and where it goes next.
 *
 * <p>Addressed by (execution id, namespace, checkpoint id). On save the client fills in an
 * empty checkpoint id (a time-ordered UUIDv7, so a retried save is idempotent) and the
 * gateway assigns {@link #version()} and {@link #createdAt()}. The state is opaque bytes
 * with a media type: {@link Builder#jsonState(String)} stores JSON text as
 * {@code application/json}, {@link Builder#state(byte[], String)} anything else.
 *
 * <p>Immutable; {@link #toBuilder()} makes a changed copy.
 */
public final class Checkpoint {
  /** Media type of JSON state. */
  public static final String JSON = "application/json";
  /** Media type of state given as bytes without one. */
  public static final String OCTET_STREAM = "application/octet-stream";

  private final String executionId;
  private final String namespace;
  private final String checkpointId;
  private final String parentId;
  private final byte[] state;
  private final String contentType;
  private final String metadata;
  private final String node;
  private final List<String> nextNodes;
  private final Instant createdAt;
  private final long version;
  private final List<PendingWrite> pendingWrites;
  private final Map<String, Channel> channels;

  private Checkpoint(Builder b) {
    this.executionId = b.executionId;
    this.namespace = b.namespace;
    this.checkpointId = b.checkpointId;
    this.parentId = b.parentId;
    this.state = b.state.clone();
    this.contentType = b.contentType;
    this.metadata = b.metadata;
    this.node = b.node;
    this.nextNodes = List.copyOf(b.nextNodes);
    this.createdAt = b.createdAt;
    this.version = b.version;
    this.pendingWrites = List.copyOf(b.pendingWrites);
    this.channels = Collections.unmodifiableMap(new LinkedHashMap<>(b.channels));
  }

  /** A builder for a checkpoint of this execution (a thread, a run). */
  public static Builder newBuilder(String executionId) {
    return new Builder(executionId);
  }

  /** A builder holding this checkpoint's fields. */
  public Builder toBuilder() {
    Builder b = new Builder(executionId);
    b.namespace = namespace;
    b.checkpointId = checkpointId;
    b.parentId = parentId;
    b.state = state;
    b.contentType = contentType;
    b.metadata = metadata;
    b.node = node;
    b.nextNodes = nextNodes;
    b.createdAt = createdAt;
    b.version = version;
    b.pendingWrites = pendingWrites;
    b.channels = channels;
    return b;
  }

  public String executionId() {
    return executionId;
  }

  /** The sub-graph namespace; "" is the root graph. */
  public String namespace() {
    return namespace;
  }

  /** Unique within (execution id, namespace); "" before it is saved. */
  public String checkpointId() {
    return checkpointId;
  }

  /** The checkpoint this one follows; "" for the first one. */
  public String parentId() {
    return parentId;
  }

  /** The exact stored state bytes (a copy). */
  public byte[] state() {
    return state.clone();
  }

  /** The state as UTF-8 text (JSON state, for instance). */
  public String stateAsString() {
    return new String(state, StandardCharsets.UTF_8);
  }

  /** Media type of the state, e.g. {@code application/json}. */
  public String contentType() {
    return contentType;
  }

  /** The metadata, a JSON object as text ("{}" when there is none). */
  public String metadata() {
    return metadata;
  }

  /** The node that just ran. */
  public String node() {
    return node;
  }

  /** The nodes to run next (the resume point). */
  public List<String> nextNodes() {
    return nextNodes;
  }

  /** When the gateway stored it; empty before it is saved. */
  public Optional<Instant> createdAt() {
    return Optional.ofNullable(createdAt);
  }

  /** 1 for the first checkpoint of a lineage, then +1; 0 before it is saved. */
  public long version() {
    return version;
  }

  /** Pending writes against this checkpoint (filled by load, latest, and listings that ask). */
  public List<PendingWrite> pendingWrites() {
    return pendingWrites;
  }

  /** Named parts of the state, by name, each stored once per version. */
  public Map<String, Channel> channels() {
    return channels;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof Checkpoint)) {
      return false;
    }
    Checkpoint c = (Checkpoint) o;
    return version == c.version
        && executionId.equals(c.executionId)
        && namespace.equals(c.namespace)
        && checkpointId.equals(c.checkpointId)
        && parentId.equals(c.parentId)
        && Arrays.equals(state, c.state)
        && contentType.equals(c.contentType)
        && metadata.equals(c.metadata)
        && node.equals(c.node)
        && nextNodes.equals(c.nextNodes)
        && Objects.equals(createdAt, c.createdAt)
        && pendingWrites.equals(c.pendingWrites)
        && channels.equals(c.channels);
  }

  @Override
  public int hashCode() {
    return Objects.hash(executionId, namespace, checkpointId, version);
  }

  @Override
  public String toString() {
    return "Checkpoint{executionId=" + executionId + ", namespace=" + namespace
        + ", checkpointId=" + checkpointId + ", version=" + version + ", node=" + node
        + ", nextNodes=" + nextNodes + ", state=<" + state.length + " bytes " + contentType
        + ">" + (channels.isEmpty() ? "" : ", channels=" + channels.keySet()) + "}";
  }

  /** Builds a {@link Checkpoint}; every field but the execution id has a default. */
  public static final class Builder {
    private String executionId;
    private String namespace = "";
    private String checkpointId = "";
    private String parentId = "";
    // No state yet: JSON null, as the Python client stores a checkpoint without one.
    private byte[] state = "null".getBytes(StandardCharsets.UTF_8);
    private String contentType = JSON;
    private String metadata = "{}";
    private String node = "";
    private List<String> nextNodes = List.of();
    private Instant createdAt;
    private long version;
    private List<PendingWrite> pendingWrites = List.of();
    private Map<String, Channel> channels = Map.of();

    private Builder(String executionId) {
      this.executionId = Objects.requireNonNull(executionId, "executionId");
    }

    public Builder executionId(String executionId) {
      this.executionId = Objects.requireNonNull(executionId, "executionId");
      return this;
    }

    public Builder namespace(String namespace) {
      this.namespace = Objects.requireNonNull(namespace, "namespace");
      return this;
    }

    /** "" (the default) lets the client choose a time-ordered id on save. */
    public Builder checkpointId(String checkpointId) {
      this.checkpointId = Objects.requireNonNull(checkpointId, "checkpointId");
      return this;
    }

    public Builder parentId(String parentId) {
      this.parentId = Objects.requireNonNull(parentId, "parentId");
      return this;
    }

    /** JSON text as the state, stored as {@code application/json}. */
    public Builder jsonState(String json) {
      this.state = Objects.requireNonNull(json, "json").getBytes(StandardCharsets.UTF_8);
      this.contentType = JSON;
      return this;
    }

    /** Opaque bytes as the state, with their media type (null: application/octet-stream). */
    public Builder state(byte[] state, String contentType) {
      this.state = Objects.requireNonNull(state, "state").clone();
      this.contentType = contentType == null || contentType.isEmpty() ? OCTET_STREAM : contentType;
      return this;
    }

    /** Metadata: a JSON object as text; "" or null mean {}. */
    public Builder metadata(String json) {
      this.metadata = json == null || json.isEmpty() ? "{}" : json;
      return this;
    }

    public Builder node(String node) {
      this.node = Objects.requireNonNull(node, "node");
      return this;
    }

    public Builder nextNodes(List<String> nextNodes) {
      this.nextNodes = List.copyOf(nextNodes);
      return this;
    }

    public Builder nextNodes(String... nextNodes) {
      return nextNodes(Arrays.asList(nextNodes));
    }

    /** Set by the gateway; ignored on save. */
    public Builder createdAt(Instant createdAt) {
      this.createdAt = createdAt;
      return this;
    }

    /** Set by the gateway; ignored on save (use an expected version for compare-and-set). */
    public Builder version(long version) {
      this.version = version;
      return this;
    }

    /** Filled by reads; ignored on save (use {@code putWrites}). */
    public Builder pendingWrites(List<PendingWrite> pendingWrites) {
      this.pendingWrites = List.copyOf(pendingWrites);
      return this;
    }

    public Builder channels(Map<String, Channel> channels) {
      this.channels = new LinkedHashMap<>(channels);
      return this;
    }

    public Builder channel(String name, Channel channel) {
      Map<String, Channel> copy = new LinkedHashMap<>(channels);
      copy.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(channel, "channel"));
      this.channels = copy;
      return this;
    }

    public Checkpoint build() {
      return new Checkpoint(this);
    }
  }
}
