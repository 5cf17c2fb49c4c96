package io.checkpointgateway.client;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Base class of every error the gateway client throws; unchecked, and carrying the gRPC
 * {@link Status} the gateway answered with.
 *
 * <pre>
 * CheckpointGatewayException           any other code (UNKNOWN, DATA_LOSS...)
 * ├── NotFoundException                NOT_FOUND           no such checkpoint / lineage
 * ├── InvalidArgumentException         INVALID_ARGUMENT    malformed or over a limit; nothing written
 * ├── ConflictException                ABORTED             compare-and-set lost, or an id reused
 * ├── ResourceExhaustedException       RESOURCE_EXHAUSTED  message too large, or no capacity left
 * ├── UnavailableException             UNAVAILABLE         gateway or backend unreachable; safe to retry
 * ├── DeadlineExceededException        DEADLINE_EXCEEDED   the call's deadline passed
 * ├── UnauthenticatedException         UNAUTHENTICATED     missing or wrong token
 * ├── PermissionDeniedException        PERMISSION_DENIED
 * └── InternalException                INTERNAL            a defect; details are in the gateway's log
 * </pre>
 *
 * <p>The message is the gateway's status description; it never holds a stack trace from
 * the server.
 */
public class CheckpointGatewayException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Status status;

  public CheckpointGatewayException(Status status) {
    super(describe(status), status.getCause());
    this.status = status;
  }

  /** The status the gateway (or the gRPC library) answered with. */
  public Status getStatus() {
    return status;
  }

  /** The status code, e.g. {@link Status.Code#NOT_FOUND}. */
  public Status.Code getCode() {
    return status.getCode();
  }

  private static String describe(Status status) {
    String description = status.getDescription();
    return status.getCode() + (description == null || description.isEmpty() ? "" : ": " + description);
  }

  /** The exception for a failed call: the subclass that names its status code. */
  public static CheckpointGatewayException fromStatus(Status status) {
    switch (status.getCode()) {
      case NOT_FOUND:
        return new NotFoundException(status);
      case INVALID_ARGUMENT:
        return new InvalidArgumentException(status);
      case ABORTED:
        return new ConflictException(status);
      case RESOURCE_EXHAUSTED:
        return new ResourceExhaustedException(status);
      case UNAVAILABLE:
        return new UnavailableException(status);
      case CANCELLED:
        // Our own calls are never cancelled by this client, so a CANCELLED status came
        // from the server or a proxy going away: retryable, as UNAVAILABLE is.
        return new UnavailableException(
            Status.UNAVAILABLE.withDescription(
                "the call was cancelled by the server"
                    + (status.getDescription() == null ? "" : ": " + status.getDescription())));
      case DEADLINE_EXCEEDED:
        return new DeadlineExceededException(status);
      case UNAUTHENTICATED:
        return new UnauthenticatedException(status);
      case PERMISSION_DENIED:
        return new PermissionDeniedException(status);
      case INTERNAL:
        return new InternalException(status);
      default:
        return new CheckpointGatewayException(status);
    }
  }

  static CheckpointGatewayException from(StatusRuntimeException e) {
    return fromStatus(e.getStatus());
  }
}
