package io.checkpointgateway.client;

import io.grpc.Status;

/** The call's credentials (the bearer token) are missing or wrong ({@code UNAUTHENTICATED}). */
public class UnauthenticatedException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public UnauthenticatedException(Status status) {
    super(status);
  }

  /** An exception with a {@code UNAUTHENTICATED} status and this description. */
  public UnauthenticatedException(String description) {
    super(Status.UNAUTHENTICATED.withDescription(description));
  }
}
