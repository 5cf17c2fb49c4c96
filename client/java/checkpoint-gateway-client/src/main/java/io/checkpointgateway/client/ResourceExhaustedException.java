package io.checkpointgateway.client;

import io.grpc.Status;

/** A message over the size limit, or the backend has no capacity left ({@code RESOURCE_EXHAUSTED}). */
public class ResourceExhaustedException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public ResourceExhaustedException(Status status) {
    super(status);
  }

  /** An exception with a {@code RESOURCE_EXHAUSTED} status and this description. */
  public ResourceExhaustedException(String description) {
    super(Status.RESOURCE_EXHAUSTED.withDescription(description));
  }
}
