// How one batch attempt reaches the place that runs it: a remote executor (ExecuteBatch) or the
// coordinator itself (local mode). Both yield the executor protocol's messages, so verification,
// fencing and retries are the same whichever ran the batch.
import type { BatchAssignment, ExecuteBatchResponse } from '@flowmesh/contracts';
import type { ExecutorView } from './slot-ledger.js';

export interface AttemptRequest {
  executor: ExecutorView;
  assignment: BatchAssignment;
  /** The batch's bytes when they travel inline (root not visible to the executor, or streamed input). */
  inline?: Buffer;
  /** The job's deadline (its caller's), which caps the attempt's own. */
  deadline?: Date;
}

/** Runs one attempt; aborting `signal` cancels it. Throws on a broken call or an executor error. */
export type AttemptRunner = (request: AttemptRequest, signal: AbortSignal) => AsyncIterable<ExecuteBatchResponse>;
