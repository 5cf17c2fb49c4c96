package io.checkpointgateway.client;

import io.grpc.Status;

/** The call's deadline passed before it finished ({@code DEADLINE_EXCEEDED}). */
public class DeadlineExceededException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public DeadlineExceededException(Status status) {
    super(status);
  }

  /** An exception with a {@code DEADLINE_EXCEEDED} status and this description. */
  public DeadlineExceededException(String description) {
    super(Status.DEADLINE_EXCEEDED.withDescription(description));
  }
}
