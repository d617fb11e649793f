// Per-batch state of one job, kept in one place so it can be checkpointed and resumed (issue 6):
// planned → queued → running(attempt, executor) → done | (queued again on a retry) | quarantined.
// Fencing: every attempt has a number; only the current attempt of a running batch may be accepted,
// and a batch is accepted exactly once.
// Speculative execution (issue 6, item 4): a running batch may get one backup attempt; both are live, the
// first to be accepted wins and the other is cancelled (not a failure, no budget spent).

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
  /** A backup attempt started while the batch's first live attempt still ran. */
  speculative?: boolean;
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

/**
 * What `fail` decided for a batch. `stale`: the attempt was already superseded, nothing changes;
 * `continuing`: the failure is recorded but another live attempt (a speculative one) still runs the batch.
 */
export type FailOutcome = 'retry' | 'quarantined' | 'stale' | 'continuing';

/** When a running batch deserves a backup attempt. */
export interface SpeculationPolicy {
  /** Running longer than this multiple of the median duration of the job's accepted batches. */
  multiple: number;
  /** And at least this long. */
  minAgeMs: number;
}

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
  /** Marks a queued batch done without running it: it was done under an earlier epoch (a resumed job). */
  skip(index: number): void;
  /** Starts a new attempt on `executorId`; returns its number. */
  start(index: number, executorId: string): number;
  /** True when this attempt is a live attempt of a running batch (results from it may be used). */
  isCurrent(index: number, attempt: number): boolean;
  /**
   * Accepts the attempt's result; false when superseded or the batch is already done. Any other live
   * attempt of the batch (the loser of a speculative race) is ended as cancelled.
   */
  accept(index: number, attempt: number): boolean;
  /** Running batches that deserve a backup attempt now (one live attempt, none speculated yet), oldest first. */
  slowBatches(policy: SpeculationPolicy): BatchEntry[];
  /** Starts a backup attempt of a running batch on `executorId`; returns its number. */
  speculate(index: number, executorId: string): number;
  /** Executors running a live attempt of this batch. */
  runningOn(index: number): Set<string>;
  /** Records a failed attempt; requeues it within the retry budget, else quarantines it. */
  fail(index: number, attempt: number, error: string): FailOutcome;
  /** Puts a running attempt back in the queue without spending budget (e.g. an executor refused for lack of slots). */
  requeue(index: number, attempt: number, reason: string): boolean;
  /** Marks every unfinished batch cancelled; returns the attempts that were running. */
  cancelAll(): Array<{ index: number; attempt: number; executorId: string }>;
  /** Executors this batch already failed on, so a retry can go elsewhere. */
  triedOn(index: number): ReadonlySet<string>;
  failures(): BatchFailureReport[];
  stats(): {
    planned: number;
    queued: number;
    running: number;
    done: number;
    retried: number;
    quarantined: number;
    /** Backup attempts started. */
    speculative: number;
  };
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

const NO_ATTEMPTS: readonly AttemptInfo[] = [];
const NOT_TRIED: ReadonlySet<string> = new Set();

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
  let speculative = 0;
  // Durations of accepted attempts, for the speculation median.
  const durations: number[] = [];

  const must = (index: number): BatchEntry => {
    const b = batches.get(index);
    if (!b) throw new Error(`unknown batch ${index}`);
    return b;
  };
  const live = (b: BatchEntry): AttemptInfo[] =>
    b.state === 'running' ? b.attempts.filter((a) => a.outcome === undefined) : [];
  const liveAttempt = (b: BatchEntry | undefined, attempt: number): AttemptInfo | undefined =>
    b && b.state === 'running' ? b.attempts.find((a) => a.attempt === attempt && a.outcome === undefined) : undefined;
  const endOne = (a: AttemptInfo, outcome: AttemptInfo['outcome'], error?: string): void => {
    a.endedAt = now();
    a.outcome = outcome;
    if (error !== undefined) a.error = error;
  };
  const median = (): number | undefined => {
    if (durations.length === 0) return undefined;
    const sorted = [...durations].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };

  return {
    epoch: opts.epoch,
    add(batch) {
      if (batches.has(batch.index)) throw new Error(`batch ${batch.index} planned twice`);
      // Fields named, not spread: a spread of the planner's object takes a slow path, per batch (issue 7).
      batches.set(batch.index, {
        index: batch.index,
        offset: batch.offset,
        length: batch.length,
        firstLine: batch.firstLine,
        firstRecord: batch.firstRecord,
        records: batch.records,
        state: 'queued',
        attempts: [],
        errors: [],
      });
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
    skip(index) {
      const b = must(index);
      if (b.state !== 'queued') throw new Error(`batch ${index} is ${b.state}, not queued`);
      const at = freshQueue.indexOf(index);
      if (at >= 0) freshQueue.splice(at, 1);
      b.state = 'done';
      queued--;
      done++;
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
      return liveAttempt(batches.get(index), attempt) !== undefined;
    },
    accept(index, attempt) {
      const b = batches.get(index);
      const a = liveAttempt(b, attempt);
      if (!b || !a) return false;
      endOne(a, 'accepted');
      durations.push(a.endedAt! - a.startedAt);
      for (const other of live(b)) endOne(other, 'cancelled', `attempt ${attempt} finished first`);
      running--;
      b.state = 'done';
      b.accepted = attempt;
      done++;
      return true;
    },
    slowBatches(policy) {
      const m = median();
      if (m === undefined || !(policy.multiple > 0)) return [];
      const threshold = Math.max(policy.minAgeMs, policy.multiple * m);
      const t = now();
      const slow: Array<{ b: BatchEntry; startedAt: number }> = [];
      for (const b of batches.values()) {
        if (b.state !== 'running' || b.attempts.some((a) => a.speculative)) continue;
        const l = live(b);
        if (l.length !== 1 || t - l[0]!.startedAt < threshold) continue;
        slow.push({ b, startedAt: l[0]!.startedAt });
      }
      return slow.sort((x, y) => x.startedAt - y.startedAt).map((s) => s.b);
    },
    speculate(index, executorId) {
      const b = must(index);
      if (b.state !== 'running') throw new Error(`batch ${index} is ${b.state}, not running`);
      const attempt = b.attempts.length + 1;
      b.attempts.push({ attempt, executorId, startedAt: now(), speculative: true });
      speculative++;
      return attempt;
    },
    runningOn(index) {
      const b = batches.get(index);
      return new Set(b ? live(b).map((a) => a.executorId) : []);
    },
    fail(index, attempt, error) {
      const b = batches.get(index);
      const a = liveAttempt(b, attempt);
      if (!b || !a) return 'stale';
      endOne(a, 'failed', error);
      b.errors.push(`attempt ${attempt} on ${a.executorId}: ${error}`);
      // A backup (or the original) still runs the batch: it may yet succeed.
      if (live(b).length > 0) return 'continuing';
      running--;
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
      const a = liveAttempt(b, attempt);
      if (!b || !a) return false;
      endOne(a, 'cancelled', reason);
      if (live(b).length > 0) return true; // the other live attempt keeps the batch running
      running--;
      b.state = 'queued';
      queued++;
      retryQueue.unshift(index);
      return true;
    },
    cancelAll() {
      const stopped: Array<{ index: number; attempt: number; executorId: string }> = [];
      for (const b of batches.values()) {
        if (b.state === 'running') {
          for (const a of live(b)) {
            stopped.push({ index: b.index, attempt: a.attempt, executorId: a.executorId });
            endOne(a, 'cancelled');
          }
          running--;
        }
        if (b.state === 'running' || b.state === 'queued') b.state = 'cancelled';
      }
      queued = 0;
      retryQueue.length = 0;
      freshQueue.length = 0;
      return stopped;
    },
    triedOn(index) {
      // Asked once per dispatch: no set at all for a batch that has not failed anywhere (nearly all).
      let tried: Set<string> | undefined;
      for (const a of batches.get(index)?.attempts ?? NO_ATTEMPTS)
        if (a.outcome === 'failed') (tried ??= new Set()).add(a.executorId);
      return tried ?? NOT_TRIED;
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
      return { planned: batches.size, queued, running, done, retried, quarantined, speculative };
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
