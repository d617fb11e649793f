// How one batch attempt reaches the place that runs it: a remote executor (ExecuteBatch) or the
// coordinator itself (local mode). Both yield the executor protocol's messages, so verification,
// fencing and retries are the same whichever ran the batch.
import type { BatchAssignment, ExecuteBatchResponse } from '@flowmesh/contracts';
import type { CancelSource } from './attempt-cancel.js';
import type { ExecutorView } from './slot-ledger.js';

export interface AttemptRequest {
  executor: ExecutorView;
  assignment: BatchAssignment;
  /** The batch's bytes when they travel inline (root not visible to the executor, or streamed input). */
  inline?: Buffer;
  /** The job's deadline (its caller's), which caps the attempt's own. */
  deadline?: Date;
}

/** Receives one attempt's messages as they arrive, then its end (no error: the call gave its trailer). */
export interface AttemptSink {
  onMessage(msg: NonNullable<ExecuteBatchResponse['msg']>): void;
  /** Called once; `error` as the iterable form would have thrown it. */
  onEnd(error: Error | undefined): void;
}

/**
 * Runs one attempt; aborting `signal` cancels it. Throws on a broken call or an executor error. `start`, when
 * the runner has it, runs the same attempt (without inline bytes) with callbacks instead: the executor
 * stream's, for thousands of tiny attempts per second (issue 7, target 4).
 */
export type AttemptRunner = ((request: AttemptRequest, signal: AbortSignal) => AsyncIterable<ExecuteBatchResponse>) & {
  start?: (request: AttemptRequest, signal: CancelSource, sink: AttemptSink) => void;
};
