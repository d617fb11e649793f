// Typed errors for domain code. Each maps to exactly one gRPC status at the edge (see to-service-error.ts),
// so handlers throw what happened and never build status objects themselves.
import { status } from '@grpc/grpc-js';

export abstract class FlowmeshError extends Error {
  abstract readonly code: status;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request field is wrong; `field` names it (e.g. "flow.steps[2].expr") so the caller can fix it. */
export class InvalidArgumentError extends FlowmeshError {
  readonly code = status.INVALID_ARGUMENT;
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(field ? `${field}: ${message}` : message, options);
  }
}

export class NotFoundError extends FlowmeshError {
  readonly code = status.NOT_FOUND;
}
export class AlreadyExistsError extends FlowmeshError {
  readonly code = status.ALREADY_EXISTS;
}
/** The system is not in the state the call needs (e.g. a compare-and-set revision mismatch). */
export class FailedPreconditionError extends FlowmeshError {
  readonly code = status.FAILED_PRECONDITION;
}
/** A concurrency conflict the caller may retry at a higher level (e.g. a fenced, superseded attempt). */
export class AbortedError extends FlowmeshError {
  readonly code = status.ABORTED;
}
export class PermissionDeniedError extends FlowmeshError {
  readonly code = status.PERMISSION_DENIED;
}
export class UnauthenticatedError extends FlowmeshError {
  readonly code = status.UNAUTHENTICATED;
}
/** A limit was hit (queue full, too many jobs for a key, message too large): overload never crashes. */
export class ResourceExhaustedError extends FlowmeshError {
  readonly code = status.RESOURCE_EXHAUSTED;
}
/** Transient: a dependency is down or the node is draining; idempotent calls may be retried. */
export class UnavailableError extends FlowmeshError {
  readonly code = status.UNAVAILABLE;
}
export class DeadlineExceededError extends FlowmeshError {
  readonly code = status.DEADLINE_EXCEEDED;
}
export class CancelledError extends FlowmeshError {
  readonly code = status.CANCELLED;
}
/** Data was lost or corrupted on the way (e.g. a result part that fails its checksum). */
export class DataLossError extends FlowmeshError {
  readonly code = status.DATA_LOSS;
}
export class UnimplementedError extends FlowmeshError {
  readonly code = status.UNIMPLEMENTED;
}

/** Start-up configuration is invalid; the message names the flag or environment variable. Exit code 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
