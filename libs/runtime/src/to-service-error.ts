// The one place where errors become gRPC statuses. Typed errors keep their message (written for users);
// anything else is a bug or an unexpected failure: it is logged with a reference id and the caller gets
// INTERNAL with only that id, never the message or stack.
import { randomUUID } from 'node:crypto';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { FlowmeshError, InvalidArgumentError } from './errors.js';

/** Metadata key carrying the field named by an InvalidArgumentError, for clients that want it apart. */
export const FIELD_METADATA_KEY = 'x-flowmesh-field';
/** Metadata key carrying the reference id of an INTERNAL error (also in the message). */
export const ERROR_REF_METADATA_KEY = 'x-flowmesh-error-ref';

/** Limit on echoed messages: a status detail travels in an HTTP/2 trailer. */
const MAX_DETAILS = 2048;

function makeServiceError(code: status, details: string, metadata = new Metadata()): ServiceError {
  const err = new Error(details) as ServiceError;
  err.code = code;
  err.details = details;
  err.metadata = metadata;
  return err;
}

/** True for errors that already carry a gRPC status (e.g. from a downstream call). */
export function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === 'number' &&
    typeof (err as Partial<ServiceError>).details === 'string'
  );
}

/**
 * Maps any thrown value to the ServiceError to send. Typed FlowmeshErrors map 1:1; a ServiceError from a
 * downstream call keeps its code and details (the downstream already sanitised them); everything else
 * becomes INTERNAL with a reference id that is logged together with the real error.
 */
export function toServiceError(err: unknown, logger?: Pick<Logger, 'error'>): ServiceError {
  if (err instanceof FlowmeshError) {
    const md = new Metadata();
    if (err instanceof InvalidArgumentError && err.field) md.set(FIELD_METADATA_KEY, err.field);
    return makeServiceError(err.code, err.message.slice(0, MAX_DETAILS), md);
  }
  if (isServiceError(err) && err.code !== status.OK && err.code !== status.INTERNAL && err.code !== status.UNKNOWN) {
    return makeServiceError(err.code, err.details.slice(0, MAX_DETAILS));
  }
  const ref = randomUUID();
  logger?.error({ err, ref }, 'internal error');
  const md = new Metadata();
  md.set(ERROR_REF_METADATA_KEY, ref);
  return makeServiceError(status.INTERNAL, `internal error (ref ${ref})`, md);
}
