// Store errors. They carry no gRPC status: the config layer maps them to the service's typed errors.

export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A compare-and-set condition did not hold. */
export class CasConflictError extends StoreError {
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    /** The key's mod revision when checked (0 = absent). */
    readonly actualRevision: number,
  ) {
    super(`revision of ${key} is ${actualRevision}, expected ${expectedRevision}`);
  }
}

/** A watch asked for revisions the store no longer keeps (etcd compaction, embedded history bound). */
export class RevisionCompactedError extends StoreError {
  constructor(
    readonly requested: number,
    readonly compactedTo: number,
  ) {
    super(
      `revision ${requested} is compacted (history starts after ${compactedTo}); list again and watch from the list's revision`,
    );
  }
}

/** The backend could not be reached within the call's budget. */
export class StoreUnavailableError extends StoreError {}

export class StoreClosedError extends StoreError {
  constructor() {
    super('store is closed');
  }
}

/** Bad arguments to the store API (a programming error in the caller, or a request that is too large). */
export class StoreArgumentError extends StoreError {}
