package com.alibaba.cloud.ai.graph.checkpoint;

import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * STAND-IN for spring-ai-alibaba graph's {@code Checkpoint}: an id (a random UUID unless
 * given), the graph's state, the node that ran and the node to run next, all required;
 * built with {@link #builder()}, copied under a new id with {@link #copyOf}. Not the real
 * class: see client/java/README.md.
 */
public class Checkpoint {
  private final String id;
  private final Map<String, Object> state;
  private final String nodeId;
  private final String nextNodeId;

  private Checkpoint(String id, Map<String, Object> state, String nodeId, String nextNodeId) {
    this.id = Objects.requireNonNull(id, "id cannot be null");
    this.state = Objects.requireNonNull(state, "state cannot be null");
    this.nodeId = Objects.requireNonNull(nodeId, "nodeId cannot be null");
    this.nextNodeId = Objects.requireNonNull(nextNodeId, "Checkpoint.nextNodeId cannot be null");
  }

  /** The same state and nodes under a new random id. */
  public static Checkpoint copyOf(Checkpoint checkpoint) {
    Objects.requireNonNull(checkpoint, "checkpoint cannot be null");
    return new Checkpoint(
        UUID.randomUUID().toString(), checkpoint.state, checkpoint.nodeId, checkpoint.nextNodeId);
  }

  public static Builder builder() {
    return new Builder();
  }

  public String getId() {
    return id;
  }

  public Map<String, Object> getState() {
    return state;
  }

  public String getNodeId() {
    return nodeId;
  }

  public String getNextNodeId() {
    return nextNodeId;
  }

  @Override
  public String toString() {
    return "Checkpoint{ id=" + id + ", nodeId=" + nodeId + ", nextNodeId=" + nextNodeId
        + ", state=" + state + " }";
  }

  /** Builds a {@link Checkpoint}. */
  public static class Builder {
    private String id = UUID.randomUUID().toString();
    private Map<String, Object> state;
    private String nodeId;
    private String nextNodeId;

    public Builder id(String id) {
      this.id = id;
      return this;
    }

    public Builder state(Map<String, Object> state) {
      this.state = state;
      return this;
    }

    public Builder nodeId(String nodeId) {
      this.nodeId = nodeId;
      return this;
    }

    public Builder nextNodeId(String nextNodeId) {
      this.nextNodeId = nextNodeId;
      return this;
    }

    public Checkpoint build() {
      return new Checkpoint(id, state, nodeId, nextNodeId);
    }
  }
}
