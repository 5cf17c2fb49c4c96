package io.checkpointgateway.client;

import io.grpc.Status;

/** Compare-and-set failed (the expected version is not the latest), or a checkpoint id was reused with different content ({@code ABORTED}). */
public class ConflictException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public ConflictException(Status status) {
    super(status);
  }

  /** An exception with a {@code ABORTED} status and this description. */
  public ConflictException(String description) {
    super(Status.ABORTED.withDescription(description));
  }
}
