package io.checkpointgateway.client;

import java.time.Instant;
import java.util.Objects;

/**
 * An execution (a thread) that holds checkpoints.
 *
 * @param executionId its id
 * @param updatedAt when its newest checkpoint was saved (null when the gateway did not say)
 */
public record ExecutionInfo(String executionId, Instant updatedAt) {
  public ExecutionInfo {
    Objects.requireNonNull(executionId, "executionId");
  }
}
