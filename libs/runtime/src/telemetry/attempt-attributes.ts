// The attributes of a batch attempt's spans: the coordinator's `flowmesh.batch.attempt` and the executor's
// `flowmesh.executor.batch` carry the same names (docs/observability.md), so both sides of an attempt are
// found and compared by the same query.
import type { BatchAssignment, Counts } from '@flowmesh/contracts';
import type { Attributes } from './spans.js';

/** Which attempt of which batch of which job, and where it ran. */
export function batchAttemptAttributes(a: BatchAssignment, executorId: string): Attributes {
  return {
    'flowmesh.job.id': a.jobId,
    'flowmesh.batch.index': a.batchIndex,
    'flowmesh.batch.attempt': a.attempt,
    'flowmesh.batch.retries': Math.max(0, a.attempt - 1),
    'flowmesh.batch.offset': a.offset,
    'flowmesh.batch.length': a.length,
    'flowmesh.batch.inline': a.inline,
    'flowmesh.executor.id': executorId,
  };
}

/** The record counts of an attempt's trailer. */
export function batchCountsAttributes(c: Counts | undefined): Attributes {
  return {
    'flowmesh.records.in': c?.recordsIn ?? 0,
    'flowmesh.records.out': c?.recordsOut ?? 0,
    'flowmesh.records.rejected': c?.recordsRejected ?? 0,
  };
}
