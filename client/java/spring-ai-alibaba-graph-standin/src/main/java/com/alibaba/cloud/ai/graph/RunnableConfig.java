package com.alibaba.cloud.ai.graph;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * STAND-IN for spring-ai-alibaba graph's {@code RunnableConfig}: only what a checkpoint
 * saver uses (thread id, checkpoint id, next node, metadata, the builder), with the real
 * one's signatures. Not the real class: see client/java/README.md.
 */
public final class RunnableConfig {
  private final String threadId;
  private final String checkPointId;
  private final String nextNode;
  private final Map<String, Object> metadata;

  private RunnableConfig(Builder builder) {
    this.threadId = builder.threadId;
    this.checkPointId = builder.checkPointId;
    this.nextNode = builder.nextNode;
    this.metadata = new HashMap<>(builder.metadata);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from {@code config}'s values. */
  public static Builder builder(RunnableConfig config) {
    Builder b = new Builder();
    b.threadId = config.threadId;
    b.checkPointId = config.checkPointId;
    b.nextNode = config.nextNode;
    b.metadata.putAll(config.metadata);
    return b;
  }

  public Optional<String> threadId() {
    return Optional.ofNullable(threadId);
  }

  public Optional<String> checkPointId() {
    return Optional.ofNullable(checkPointId);
  }

  public Optional<String> nextNode() {
    return Optional.ofNullable(nextNode);
  }

  public Optional<Object> metadata(String key) {
    return key == null ? Optional.empty() : Optional.ofNullable(metadata.get(key));
  }

  /** This config with another checkpoint id (itself when it is the same). */
  public RunnableConfig withCheckPointId(String checkPointId) {
    if (Objects.equals(this.checkPointId, checkPointId)) {
      return this;
    }
    return builder(this).checkPointId(checkPointId).build();
  }

  @Override
  public String toString() {
    return "RunnableConfig{threadId=" + threadId + ", checkPointId=" + checkPointId
        + ", nextNode=" + nextNode + "}";
  }

  /** Builds a {@link RunnableConfig}. */
  public static final class Builder {
    private String threadId;
    private String checkPointId;
    private String nextNode;
    private final Map<String, Object> metadata = new HashMap<>();

    public Builder threadId(String threadId) {
      this.threadId = threadId;
      return this;
    }

    public Builder checkPointId(String checkPointId) {
      this.checkPointId = checkPointId;
      return this;
    }

    public Builder nextNode(String nextNode) {
      this.nextNode = nextNode;
      return this;
    }

    public Builder addMetadata(String key, Object value) {
      metadata.put(key, value);
      return this;
    }

    public RunnableConfig build() {
      return new RunnableConfig(this);
    }
  }
}
