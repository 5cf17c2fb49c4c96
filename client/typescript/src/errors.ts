/**
 * The errors a gateway call can raise, one class per gRPC status code:
 *
 *     CheckpointError                base class; never thrown itself
 *     ├── NotFoundError              NOT_FOUND           no such checkpoint / lineage
 *     ├── InvalidArgumentError       INVALID_ARGUMENT    malformed or over a limit; nothing written
 *     ├── ConflictError              ABORTED             compare-and-set lost, or an id reused
 *     ├── ResourceExhaustedError     RESOURCE_EXHAUSTED  message too large, or no capacity left
 *     ├── UnavailableError           UNAVAILABLE         gateway or backend unreachable; safe to retry
 *     ├── DeadlineExceededError      DEADLINE_EXCEEDED   the call's deadline passed
 *     ├── UnauthenticatedError       UNAUTHENTICATED     the token is missing or wrong
 *     ├── PermissionDeniedError      PERMISSION_DENIED   the caller may not do this
 *     └── InternalError              INTERNAL (and any code not listed above)
 *
 * The same tree as the Python client's (`checkpoint_client._errors`). Each error carries
 * its `code` (a `@grpc/grpc-js` `status` number) and the gateway's message only: no
 * stack of the server, no internals.
 *
 * @module
 */
import { status, type ServiceError } from "@grpc/grpc-js";

/** Base class of every error the client raises. Test with `instanceof`. */
export class CheckpointError extends Error {
  /** The gRPC status code (`status.NOT_FOUND`...) the gateway answered with. */
  readonly code: status;

  constructor(message: string, code: status = status.INTERNAL, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** The status code's name, e.g. `"NOT_FOUND"`. */
  get codeName(): string {
    return status[this.code] ?? String(this.code);
  }
}

/** The checkpoint, or every checkpoint of the lineage, does not exist. */
export class NotFoundError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.NOT_FOUND, options);
  }
}

/** A request field is malformed or over a limit. Nothing was written. */
export class InvalidArgumentError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.INVALID_ARGUMENT, options);
  }
}

/** Compare-and-set failed (`expectedVersion`), or a checkpoint id was reused with other content. */
export class ConflictError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.ABORTED, options);
  }
}

/** A message over the size limit, or the backend has no capacity left. */
export class ResourceExhaustedError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.RESOURCE_EXHAUSTED, options);
  }
}

/** The gateway or its backend cannot be reached now. Safe to retry. */
export class UnavailableError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.UNAVAILABLE, options);
  }
}

/** The call's deadline passed before it finished. */
export class DeadlineExceededError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.DEADLINE_EXCEEDED, options);
  }
}

/** The caller's credentials (the bearer token) are missing or wrong. */
export class UnauthenticatedError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.UNAUTHENTICATED, options);
  }
}

/** The caller may not do this. */
export class PermissionDeniedError extends CheckpointError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, status.PERMISSION_DENIED, options);
  }
}

/** A defect in the gateway or a backend (details are in the gateway's log only), or a
 * status code with no class of its own. */
export class InternalError extends CheckpointError {
  constructor(message: string, code: status = status.INTERNAL, options?: ErrorOptions) {
    super(message, code, options);
  }
}

type ErrorClass = new (message: string, options?: ErrorOptions) => CheckpointError;

const BY_CODE: ReadonlyMap<status, ErrorClass> = new Map<status, ErrorClass>([
  [status.NOT_FOUND, NotFoundError],
  [status.INVALID_ARGUMENT, InvalidArgumentError],
  [status.ABORTED, ConflictError],
  [status.RESOURCE_EXHAUSTED, ResourceExhaustedError],
  [status.UNAVAILABLE, UnavailableError],
  [status.DEADLINE_EXCEEDED, DeadlineExceededError],
  [status.UNAUTHENTICATED, UnauthenticatedError],
  [status.PERMISSION_DENIED, PermissionDeniedError],
]);

/** The error for a status code and message (codes without a class give InternalError). */
export function errorForCode(code: status, message: string): CheckpointError {
  const cls = BY_CODE.get(code);
  return cls === undefined ? new InternalError(message, code) : new cls(message);
}

/** Map a `@grpc/grpc-js` call error onto the tree, keeping only the gateway's message. */
export function fromServiceError(error: ServiceError): CheckpointError {
  // grpc-js prefixes the message with "<code> <NAME>: "; the details are the gateway's own.
  const message = error.details || error.message;
  return errorForCode(error.code, message);
}
