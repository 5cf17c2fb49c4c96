package io.checkpointgateway.client;

import io.grpc.Status;

/** The checkpoint, or every checkpoint of the lineage, does not exist ({@code NOT_FOUND}). */
public class NotFoundException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(Status status) {
    super(status);
  }

  /** An exception with a {@code NOT_FOUND} status and this description. */
  public NotFoundException(String description) {
    super(Status.NOT_FOUND.withDescription(description));
  }
}
