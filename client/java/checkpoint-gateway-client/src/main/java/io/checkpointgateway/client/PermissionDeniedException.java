package io.checkpointgateway.client;

import io.grpc.Status;

/** The caller may not do this ({@code PERMISSION_DENIED}). */
public class PermissionDeniedException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public PermissionDeniedException(Status status) {
    super(status);
  }

  /** An exception with a {@code PERMISSION_DENIED} status and this description. */
  public PermissionDeniedException(String description) {
    super(Status.PERMISSION_DENIED.withDescription(description));
  }
}
