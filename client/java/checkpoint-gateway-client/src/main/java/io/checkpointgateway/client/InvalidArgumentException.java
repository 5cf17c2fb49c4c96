package io.checkpointgateway.client;

import io.grpc.Status;

/** A request field is malformed or over a limit; nothing was written ({@code INVALID_ARGUMENT}). */
public class InvalidArgumentException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public InvalidArgumentException(Status status) {
    super(status);
  }

  /** An exception with a {@code INVALID_ARGUMENT} status and this description. */
  public InvalidArgumentException(String description) {
    super(Status.INVALID_ARGUMENT.withDescription(description));
  }
}
