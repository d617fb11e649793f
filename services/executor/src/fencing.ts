// Fencing of batch attempts (issue 6): an executor refuses an assignment from a job epoch lower than the
// highest it has seen for that job (a deposed coordinator), and a second live copy of the same attempt.
import { AlreadyExistsError, FailedPreconditionError } from '@flowmesh/runtime';

export interface AttemptKey {
  jobId: string;
  batchIndex: number;
  attempt: number;
  epoch: number;
}

export interface Fencing {
  /** Admits an attempt or throws; the returned function ends it (idempotent). */
  admit(key: AttemptKey): () => void;
  /** Highest epoch seen for a job (0 when none). */
  epochOf(jobId: string): number;
  /** Attempts running now. */
  live(): number;
}

export interface FencingOptions {
  /** Jobs whose epoch is remembered; the oldest are forgotten beyond this (bounded memory). @default 10000 */
  maxJobs?: number;
}

export function createFencing(opts: FencingOptions = {}): Fencing {
  const maxJobs = opts.maxJobs ?? 10_000;
  // Map keeps insertion order: re-inserting on every admit makes it an LRU by last use.
  const epochs = new Map<string, number>();
  const running = new Set<string>();

  // The job of the last admit: its batches come back to back, and re-inserting it each time is work for nothing.
  let lastJob: string | undefined;

  function remember(jobId: string, epoch: number): void {
    if (jobId === lastJob) {
      epochs.set(jobId, epoch); // already the most recently used
      return;
    }
    lastJob = jobId;
    epochs.delete(jobId);
    epochs.set(jobId, epoch);
    while (epochs.size > maxJobs) {
      const oldest = epochs.keys().next().value as string;
      epochs.delete(oldest);
    }
  }

  return {
    admit(key) {
      const seen = epochs.get(key.jobId) ?? 0;
      if (key.epoch < seen) {
        throw new FailedPreconditionError(
          `job ${key.jobId}: epoch ${key.epoch} is superseded by epoch ${seen} (a newer coordinator owns the job)`,
        );
      }
      const id = `${key.jobId}\u0000${key.batchIndex}\u0000${key.attempt}`;
      if (running.has(id)) {
        throw new AlreadyExistsError(
          `job ${key.jobId} batch ${key.batchIndex} attempt ${key.attempt} is already running on this executor`,
        );
      }
      remember(key.jobId, Math.max(seen, key.epoch));
      running.add(id);
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        running.delete(id);
      };
    },
    epochOf: (jobId) => epochs.get(jobId) ?? 0,
    live: () => running.size,
  };
}
