package io.checkpointgateway.client;

import io.grpc.Status;

/** The gateway or its backend cannot be reached now; safe to retry ({@code UNAVAILABLE}). */
public class UnavailableException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public UnavailableException(Status status) {
    super(status);
  }

  /** An exception with a {@code UNAVAILABLE} status and this description. */
  public UnavailableException(String description) {
    super(Status.UNAVAILABLE.withDescription(description));
  }
}
