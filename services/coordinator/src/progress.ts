// Job progress: counts of accepted batches, batch states and bytes covered, as a JobProgress message,
// plus per-executor shares for the job record. Only accepted batches count, so a retried batch is never
// counted twice.
import type { Counts, ExecutorShare, JobProgress, JobState } from '@flowmesh/contracts';

export interface BatchStats {
  planned: number;
  running: number;
  done: number;
  retried: number;
  /** Backup attempts started (speculative execution). */
  speculative?: number;
}

export interface ProgressTracker {
  /** Adds an accepted batch's counts. */
  addBatch(executorId: string, counts: Counts | undefined, bytesCovered: number): void;
  setBytesTotal(bytes: number): void;
  /** Starts from what earlier epochs of a resumed job already did (their counts and bytes). */
  restore(counts: Counts, bytesDone: number): void;
  setPlanningDone(): void;
  counts(): Counts;
  shares(): ExecutorShare[];
  snapshot(state: JobState, stats: BatchStats): JobProgress;
}

export function emptyCounts(): Counts {
  return { recordsIn: 0, recordsOut: 0, recordsRejected: 0, recordsFiltered: 0, bytesIn: 0, bytesOut: 0 };
}

export function createProgressTracker(jobId: string, now: () => number = Date.now): ProgressTracker {
  const startedAt = now();
  const totals = emptyCounts();
  const shares = new Map<string, ExecutorShare>();
  let bytesTotal = 0;
  let bytesDone = 0;
  let planningDone = false;
  return {
    addBatch(executorId, counts, bytesCovered) {
      const c = counts ?? emptyCounts();
      totals.recordsIn += c.recordsIn;
      totals.recordsOut += c.recordsOut;
      totals.recordsRejected += c.recordsRejected;
      totals.recordsFiltered += c.recordsFiltered;
      totals.bytesIn += c.bytesIn;
      totals.bytesOut += c.bytesOut;
      bytesDone += bytesCovered;
      const share = shares.get(executorId) ?? { executorId, batches: 0, records: 0 };
      share.batches++;
      share.records += c.recordsIn;
      shares.set(executorId, share);
    },
    restore(counts, covered) {
      totals.recordsIn = counts.recordsIn;
      totals.recordsOut = counts.recordsOut;
      totals.recordsRejected = counts.recordsRejected;
      totals.recordsFiltered = counts.recordsFiltered;
      totals.bytesIn = counts.bytesIn;
      totals.bytesOut = counts.bytesOut;
      bytesDone = covered;
    },
    setBytesTotal(bytes) {
      bytesTotal = bytes;
    },
    setPlanningDone() {
      planningDone = true;
    },
    counts: () => ({ ...totals }),
    shares: () => [...shares.values()].sort((a, b) => (a.executorId < b.executorId ? -1 : 1)).map((s) => ({ ...s })),
    snapshot(state, stats) {
      return {
        jobId,
        state,
        counts: { ...totals },
        batchesPlanned: stats.planned,
        batchesDone: stats.done,
        batchesRunning: stats.running,
        batchesRetried: stats.retried,
        batchesSpeculative: stats.speculative ?? 0,
        planningDone,
        bytesTotal,
        bytesDone,
        elapsedMs: Math.max(0, now() - startedAt),
      };
    },
  };
}
