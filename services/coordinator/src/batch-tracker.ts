// Per-batch state of one job, kept in one place so it can be checkpointed and resumed (issue 6):
// planned → queued → running(attempt, executor) → done | (queued again on a retry) | quarantined.
// Fencing: every attempt has a number; only the current attempt of a running batch may be accepted,
// and a batch is accepted exactly once.

export type BatchStateName = 'queued' | 'running' | 'done' | 'quarantined' | 'cancelled';

export interface PlannedBatch {
  index: number;
  offset: number;
  length: number;
  /** 1-based source line of the batch's first byte. */
  firstLine: number;
  /** Ordinal of the batch's first record (streamed input), 0 otherwise. */
  firstRecord: number;
  /** Records in the range when the planner counted them. */
  records: number;
}

export interface AttemptInfo {
  attempt: number;
  executorId: string;
  startedAt: number;
  endedAt?: number;
  outcome?: 'accepted' | 'failed' | 'cancelled';
  error?: string;
}

export interface BatchEntry extends PlannedBatch {
  state: BatchStateName;
  attempts: AttemptInfo[];
  /** The attempt whose result was accepted. */
  accepted?: number;
  errors: string[];
}

export interface BatchFailureReport {
  batchIndex: number;
  offset: number;
  length: number;
  attempts: number;
  errors: string[];
}

/** What `fail` decided for a batch. `stale`: the attempt was already superseded, nothing changes. */
export type FailOutcome = 'retry' | 'quarantined' | 'stale';

export interface BatchTrackerOptions {
  /** Extra attempts after the first before a batch is quarantined. */
  retries: number;
  /** The job's ownership epoch, carried by every attempt. */
  epoch: number;
  now?: () => number;
}

export interface BatchTracker {
  readonly epoch: number;
  add(batch: PlannedBatch): void;
  get(index: number): BatchEntry | undefined;
  /** Queued batches in dispatch order: retries first, then lowest index. */
  nextQueued(): BatchEntry | undefined;
  /** Starts a new attempt on `executorId`; returns its number. */
  start(index: number, executorId: string): number;
  /** True when this attempt is the batch's current running one (results from it may be used). */
  isCurrent(index: number, attempt: number): boolean;
  /** Accepts the attempt's result; false when superseded or the batch is already done. */
  accept(index: number, attempt: number): boolean;
  /** Records a failed attempt; requeues it within the retry budget, else quarantines it. */
  fail(index: number, attempt: number, error: string): FailOutcome;
  /** Puts a running attempt back in the queue without spending budget (e.g. an executor refused for lack of slots). */
  requeue(index: number, attempt: number, reason: string): boolean;
  /** Marks every unfinished batch cancelled; returns the attempts that were running. */
  cancelAll(): Array<{ index: number; attempt: number; executorId: string }>;
  /** Executors this batch already failed on, so a retry can go elsewhere. */
  triedOn(index: number): Set<string>;
  failures(): BatchFailureReport[];
  stats(): { planned: number; queued: number; running: number; done: number; retried: number; quarantined: number };
  /** True when every planned batch is done (planning completeness is the caller's knowledge). */
  allDone(): boolean;
  /** Checkpointable view of every batch. */
  snapshot(): Array<{
    index: number;
    offset: number;
    length: number;
    firstLine: number;
    done: boolean;
    attempts: number;
  }>;
}

export function createBatchTracker(opts: BatchTrackerOptions): BatchTracker {
  const now = opts.now ?? Date.now;
  const batches = new Map<number, BatchEntry>();
  // Dispatch order: retried batches first (they hold back an in-order stream), then by index.
  const retryQueue: number[] = [];
  const freshQueue: number[] = [];
  let done = 0;
  let running = 0;
  let retried = 0;
  let quarantined = 0;
  let queued = 0;

  const must = (index: number): BatchEntry => {
    const b = batches.get(index);
    if (!b) throw new Error(`unknown batch ${index}`);
    return b;
  };
  const current = (b: BatchEntry): AttemptInfo | undefined => b.attempts[b.attempts.length - 1];
  const endAttempt = (b: BatchEntry, outcome: AttemptInfo['outcome'], error?: string): void => {
    const a = current(b);
    if (a) {
      a.endedAt = now();
      a.outcome = outcome;
      if (error !== undefined) a.error = error;
    }
    running--;
  };

  return {
    epoch: opts.epoch,
    add(batch) {
      if (batches.has(batch.index)) throw new Error(`batch ${batch.index} planned twice`);
      batches.set(batch.index, { ...batch, state: 'queued', attempts: [], errors: [] });
      freshQueue.push(batch.index);
      queued++;
    },
    get: (index) => batches.get(index),
    nextQueued() {
      while (retryQueue.length > 0 || freshQueue.length > 0) {
        const q = retryQueue.length > 0 ? retryQueue : freshQueue;
        const b = batches.get(q[0]!);
        if (b && b.state === 'queued') return b;
        q.shift(); // cancelled or otherwise no longer queued
      }
      return undefined;
    },
    start(index, executorId) {
      const b = must(index);
      if (b.state !== 'queued') throw new Error(`batch ${index} is ${b.state}, not queued`);
      const q = retryQueue[0] === index ? retryQueue : freshQueue;
      const at = q.indexOf(index);
      if (at >= 0) q.splice(at, 1);
      const attempt = b.attempts.length + 1;
      b.attempts.push({ attempt, executorId, startedAt: now() });
      b.state = 'running';
      running++;
      queued--;
      return attempt;
    },
    isCurrent(index, attempt) {
      const b = batches.get(index);
      return !!b && b.state === 'running' && current(b)?.attempt === attempt;
    },
    accept(index, attempt) {
      const b = batches.get(index);
      if (!b || b.state !== 'running' || current(b)?.attempt !== attempt) return false;
      endAttempt(b, 'accepted');
      b.state = 'done';
      b.accepted = attempt;
      done++;
      return true;
    },
    fail(index, attempt, error) {
      const b = batches.get(index);
      if (!b || b.state !== 'running' || current(b)?.attempt !== attempt) return 'stale';
      endAttempt(b, 'failed', error);
      b.errors.push(`attempt ${attempt} on ${current(b)?.executorId ?? '?'}: ${error}`);
      const failedAttempts = b.attempts.filter((a) => a.outcome === 'failed').length;
      if (failedAttempts > opts.retries) {
        b.state = 'quarantined';
        quarantined++;
        return 'quarantined';
      }
      b.state = 'queued';
      queued++;
      retried++;
      retryQueue.push(index);
      return 'retry';
    },
    requeue(index, attempt, reason) {
      const b = batches.get(index);
      if (!b || b.state !== 'running' || current(b)?.attempt !== attempt) return false;
      endAttempt(b, 'cancelled', reason);
      b.state = 'queued';
      queued++;
      retryQueue.unshift(index);
      return true;
    },
    cancelAll() {
      const stopped: Array<{ index: number; attempt: number; executorId: string }> = [];
      for (const b of batches.values()) {
        if (b.state === 'running') {
          const a = current(b)!;
          stopped.push({ index: b.index, attempt: a.attempt, executorId: a.executorId });
          endAttempt(b, 'cancelled');
        }
        if (b.state === 'running' || b.state === 'queued') b.state = 'cancelled';
      }
      queued = 0;
      retryQueue.length = 0;
      freshQueue.length = 0;
      return stopped;
    },
    triedOn(index) {
      const b = batches.get(index);
      return new Set((b?.attempts ?? []).filter((a) => a.outcome === 'failed').map((a) => a.executorId));
    },
    failures() {
      return (
        [...batches.values()]
          .filter((b) => b.state === 'quarantined')
          .sort((a, b) => a.index - b.index)
          // Attempts that ran and failed: a requeued one (refused, executor not reachable) never ran the batch.
          .map((b) => ({
            batchIndex: b.index,
            offset: b.offset,
            length: b.length,
            attempts: b.attempts.filter((a) => a.outcome === 'failed').length,
            errors: [...b.errors],
          }))
      );
    },
    stats() {
      return { planned: batches.size, queued, running, done, retried, quarantined };
    },
    allDone: () => done === batches.size,
    snapshot() {
      return [...batches.values()]
        .sort((a, b) => a.index - b.index)
        .map((b) => ({
          index: b.index,
          offset: b.offset,
          length: b.length,
          firstLine: b.firstLine,
          done: b.state === 'done',
          attempts: b.attempts.length,
        }));
    },
  };
}
