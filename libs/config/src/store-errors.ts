// Store failures as the service's typed errors (each maps to one gRPC status at the edge).
import { FailedPreconditionError, UnavailableError } from '@flowmesh/runtime';
import { CasConflictError, RevisionCompactedError, StoreClosedError, StoreUnavailableError } from '@flowmesh/store';

export function translateStoreError(err: unknown, what: string): unknown {
  if (err instanceof CasConflictError) {
    const actual = err.actualRevision === 0 ? 'does not exist' : `is at revision ${err.actualRevision}`;
    const expected = err.expectedRevision === 0 ? 'not to exist' : `revision ${err.expectedRevision}`;
    return new FailedPreconditionError(`${what} ${actual}; the write expected ${expected}`, { cause: err });
  }
  if (err instanceof RevisionCompactedError)
    return new FailedPreconditionError(`revision compacted: ${err.message}`, { cause: err });
  if (err instanceof StoreUnavailableError || err instanceof StoreClosedError) {
    return new UnavailableError(`config database unavailable (${what})`, { cause: err });
  }
  return err;
}

/** Runs a store call and rethrows its failure as a typed error naming `what`. */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translateStoreError(err, what);
  }
}
