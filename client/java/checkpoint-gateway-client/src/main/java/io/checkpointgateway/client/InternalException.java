package io.checkpointgateway.client;

import io.grpc.Status;

/** A defect in the gateway or a backend; the details are in the gateway's log only ({@code INTERNAL}). */
public class InternalException extends CheckpointGatewayException {
  private static final long serialVersionUID = 1L;

  public InternalException(Status status) {
    super(status);
  }

  /** An exception with a {@code INTERNAL} status and this description. */
  public InternalException(String description) {
    super(Status.INTERNAL.withDescription(description));
  }
}
