// The engine of one job: pulls batches from the planner while the reorder window has room, dispatches
// them to free executor slots (at most maxInstances in flight), verifies every attempt, retries failures
// on another executor within the budget, and hands accepted outputs to the job's output in order.
// All per-batch state lives in the BatchTracker, so it can be checkpointed (issue 6).
import type {
  BatchAssignment,
  Counts,
  DataFormat,
  FileRef,
  JobProgress,
  JobState,
  RecordEncoding,
} from '@flowmesh/contracts';
import type { MeshMetrics } from '@flowmesh/runtime';
import type { Logger } from 'pino';
import type { VerifiedAttempt } from './attempt-collector.js';
import { AttemptCancel } from './attempt-cancel.js';
import type { AttemptRunner } from './attempt-runner.js';
import { runAttemptInSpan } from './attempt-span.js';
import {
  createBatchTracker,
  type BatchEntry,
  type BatchFailureReport,
  type PlannedBatch,
  type SpeculationPolicy,
} from './batch-tracker.js';
import { createGlobals } from './globals.js';
import { createNotifier } from './notifier.js';
import { createProgressTracker } from './progress.js';
import { createReorderBuffer } from './reorder-buffer.js';
import { AttemptError } from './run-attempt.js';
import { AHEAD_MAX_BYTES, aheadFor } from './send-ahead.js';
import type { ExecutorView, SlotLedger } from './slot-ledger.js';

/** A planned batch; streamed input carries its bytes (they travel inline and are kept until accepted). */
export interface SourceBatch extends PlannedBatch {
  bytes?: Buffer;
}

/** Where batches come from: a planner over a file, or the caller's streamed input. */
export interface BatchSource {
  /** The next batch, or undefined at the end of the input. */
  next(): Promise<SourceBatch | undefined>;
  /** Bytes of a file range, for executors that cannot read the root and for local runs. */
  read(offset: number, length: number): Promise<Buffer>;
  /** Total source bytes when known (files). */
  bytesTotal: number;
  /** The file root and path batches reference (files only). */
  file?: FileRef;
  /** The raw CSV header sent with every batch (streamed input knows it after its first chunk). */
  header(): Buffer;
}

/** Receives accepted batch outputs in emission order (with the source bytes the batch covers); awaiting it is the caller's backpressure. */
export type BatchOutput = (index: number, result: VerifiedAttempt, bytesCovered: number) => Promise<void>;

export interface DriverJob {
  jobId: string;
  epoch: number;
  flow: string;
  flowRevision: number;
  flowSource: string;
  vars: Record<string, string>;
  format: DataFormat;
  encoding: RecordEncoding;
  /** Ask executors for rejects (the caller wants them, or a file sink writes them). */
  includeRejects: boolean;
  maxInstances: number;
  order: 'input' | 'arrival';
  retries: number;
  globals: Record<string, unknown>;
  /** Merges two partial aggregates (the flow's own rule); absent when the flow has no aggregate. */
  mergeAggregates?: (a: unknown, b: unknown) => unknown;
  /**
   * File sinks and the result spool: the part an attempt on `executor` writes its output to, or undefined to
   * stream it back. `bytes` is the batch's input length.
   */
  outputPart?: (
    at: { index: number; attempt: number; epoch: number; bytes: number },
    executor: ExecutorView,
  ) => FileRef | undefined;
  /** A job taken over from another coordinator (issue 6): what its earlier epochs already did. */
  resume?: ResumeState;
}

/**
 * What a resumed job starts from. The planner is deterministic, so the same batches are planned again;
 * those `done` names are counted as done without running or emitting them, the rest run. A batch that is
 * `counted` but not done (a streamed result its re-attached caller lacks) runs and is emitted again, but
 * its counts, globals and aggregate are not merged a second time.
 */
export interface ResumeState {
  done(index: number): boolean;
  counted(index: number): boolean;
  counts: Counts;
  bytesDone: number;
  /** Partial aggregate of the done batches. */
  aggregate?: unknown;
}

export interface DriverDeps {
  ledger: SlotLedger;
  runner: AttemptRunner;
  logger: Logger;
  heartbeatTimeoutMs: number;
  /** Fail the job when no executor is known for this long while batches wait. */
  noExecutorTimeoutMs: number;
  /** Batches admitted and not yet emitted. @default 2 × maxInstances */
  reorderWindow?: number;
  /** Queued batches planned ahead of dispatch. @default maxInstances */
  lookahead?: number;
  /**
   * Record bytes of accepted outputs held for a slow caller beyond which no new batch starts, except the
   * one an in-order caller waits for. The window alone bounds batches, not bytes: 16 batches of 4 MiB input
   * hold ~180 MB of JSONL for a stalled caller (issue 7, target 5). @default 64 MiB
   */
  heldBytesLimit?: number;
  /** Batch and record metrics (issue 8). @default none */
  metrics?: MeshMetrics;
  /** The caller's deadline: no attempt outlives it. */
  deadline?: Date;
  /**
   * Speculative execution (issue 6, item 4): a batch running longer than `multiple` × the median of the
   * job's accepted batches (and at least `minAgeMs`) gets a backup attempt on another executor when a slot
   * is free; the first verified attempt wins, the other is cancelled. @default off
   */
  speculation?: SpeculationPolicy;
}

export type DriverOutcome =
  | { state: 'succeeded' }
  | { state: 'failed'; error: string; failures: BatchFailureReport[] }
  | { state: 'cancelled'; reason: string };

export interface JobDriver {
  run(source: BatchSource, output: BatchOutput): Promise<DriverOutcome>;
  cancel(reason: string): void;
  progress(state: JobState): JobProgress;
  load(): { inFlight: number; queued: number; peakInFlight: number };
  globals(): Record<string, unknown>;
  aggregates(): unknown;
  shares(): ReturnType<ReturnType<typeof createProgressTracker>['shares']>;
}

/** Refused attempts hold their slot this long, so a full executor is not hammered in a loop. */
const REFUSED_BACKOFF_MS = 100;
/** See DriverDeps.heldBytesLimit. */
const DEFAULT_HELD_BYTES_LIMIT = 64 * 1024 * 1024;
/** An unreachable executor is skipped this long. */
const SUSPEND_MS = 2000;

export function createJobDriver(deps: DriverDeps, job: DriverJob): JobDriver {
  const tracker = createBatchTracker({ retries: job.retries, epoch: job.epoch });
  const window = Math.max(1, deps.reorderWindow ?? job.maxInstances * 2);
  // null: a batch done under an earlier epoch (resumed job), emitted as nothing.
  const reorder = createReorderBuffer<VerifiedAttempt | null>({ order: job.order, window });
  const progress = createProgressTracker(job.jobId);
  const globals = createGlobals(job.globals);
  const wake = createNotifier();
  const abort = new AbortController();
  const inlineBytes = new Map<number, Buffer>();
  // One controller per live attempt (batch → attempt → controller), so a speculative race's loser can be
  // cancelled alone; the job's abort cancels them all.
  const attemptAborts = new Map<number, Map<number, AttemptCancel>>();
  const speculation = deps.speculation && deps.speculation.multiple > 0 ? deps.speculation : undefined;
  let aggregate: unknown = job.resume?.aggregate;
  let inFlight = 0;
  let peakInFlight = 0;
  let planningDone = false;
  let failure: { error: string } | undefined;
  let cancelReason: string | undefined;
  const lookahead = Math.max(1, deps.lookahead ?? job.maxInstances);
  const heldBytesLimit = deps.heldBytesLimit ?? DEFAULT_HELD_BYTES_LIMIT;
  // Record bytes of accepted outputs not yet taken for the caller (parts written by executors count 0).
  let heldBytes = 0;
  // Input order: the batch the caller waits for (everything before it was taken).
  let headIndex = 0;

  const stop = (): void => {
    abort.abort();
    for (const perBatch of attemptAborts.values()) for (const c of perBatch.values()) c.abort(abort.signal.reason);
    for (const b of tracker.cancelAll())
      deps.logger.debug({ batch: b.index, executor: b.executorId }, 'attempt stopped');
    wake.notify();
  };

  const assignment = (
    source: BatchSource,
    b: BatchEntry,
    attempt: number,
    inline: boolean,
    length: number,
    executor: ExecutorView,
    sentAhead: boolean,
  ): BatchAssignment => ({
    jobId: job.jobId,
    batchIndex: b.index,
    attempt,
    epoch: job.epoch,
    file: source.file,
    offset: b.offset,
    length,
    firstLine: b.firstLine,
    firstRecord: b.firstRecord,
    flow: job.flow,
    flowRevision: job.flowRevision,
    flowSource: job.flowSource,
    vars: job.vars,
    format: job.format,
    header: source.header(),
    inline,
    globals: globals.snapshot(),
    outputPart: job.outputPart?.({ index: b.index, attempt, epoch: job.epoch, bytes: length }, executor),
    encoding: job.encoding,
    includeRejects: job.includeRejects,
    chunkBytes: 0,
    // A small batch, or a large one sent ahead, may wait on the executor for its slot (send-ahead.ts);
    // harmless when the slot is free.
    mayWait: sentAhead || length <= AHEAD_MAX_BYTES,
    // Set by the executor stream for a call that already carries this job's context (call-contexts.ts).
    contextFromCall: false,
  });

  async function attemptBatch(
    source: BatchSource,
    b: BatchEntry,
    executor: ExecutorView,
    attempt: number,
    sentAhead = false,
  ): Promise<void> {
    let holdSlotMs = 0;
    // Not an AbortController: an AbortSignal per attempt was ~15% of the driver's CPU per tiny batch (attempt-cancel.ts).
    const own = new AttemptCancel();
    let perBatch = attemptAborts.get(b.index);
    if (!perBatch) attemptAborts.set(b.index, (perBatch = new Map()));
    perBatch.set(attempt, own);
    if (abort.signal.aborted) own.abort(abort.signal.reason);
    try {
      const streamed = inlineBytes.get(b.index);
      const inline =
        streamed ??
        (source.file && executor.fileRoots.includes(source.file.root)
          ? undefined
          : await source.read(b.offset, b.length));
      const request = {
        executor,
        assignment: assignment(source, b, attempt, inline !== undefined, inline?.length ?? b.length, executor, sentAhead),
        inline,
        ...(deps.deadline ? { deadline: deps.deadline } : {}),
      };
      // A span per attempt around the ExecuteBatch call when tracing is on (attempt-span.ts).
      const result = await runAttemptInSpan(deps.runner, request, {
        signal: own,
        controller: own,
        heartbeatTimeoutMs: deps.heartbeatTimeoutMs,
        includeRejects: job.includeRejects,
      });
      // Fencing: only the batch's current attempt may be accepted, and only once.
      // A speculative race's loser that finished anyway is dropped here, never merged.
      if (!tracker.accept(b.index, attempt)) return;
      // The winner: cancel the batch's other live attempt (its call), its output is never used.
      for (const [other, c] of perBatch) {
        if (other === attempt) continue;
        c.abort(new Error(`batch ${b.index}: attempt ${attempt} finished first`));
        deps.logger.debug({ jobId: job.jobId, batch: b.index, attempt: other }, 'speculative loser cancelled');
      }
      deps.metrics?.batch('done');
      deps.metrics?.records({
        in: result.trailer.counts?.recordsIn,
        out: result.trailer.counts?.recordsOut,
        rejected: result.trailer.counts?.recordsRejected,
      });
      inlineBytes.delete(b.index);
      const t = result.trailer;
      if (!job.resume?.counted(b.index)) {
        globals.apply(t.counterDeltas, t.cacheSets);
        if (job.mergeAggregates && t.aggregates)
          aggregate = aggregate === undefined ? t.aggregates : job.mergeAggregates(aggregate, t.aggregates);
        progress.addBatch(t.executorId || executor.id, t.counts, b.length);
      }
      heldBytes += result.bytes;
      reorder.put(b.index, result);
    } catch (err) {
      // The job stopped, or this attempt lost a speculative race (the tracker already ended it as cancelled);
      // not when its own watchdog aborted it for silence (runAttempt), which is a failure like any other.
      const silent = err instanceof AttemptError && err.silent;
      if (abort.signal.aborted || (own.aborted && !silent)) return;
      const refused = err instanceof AttemptError && err.refused;
      const message = err instanceof Error ? err.message : String(err);
      // An executor that refused or could not be reached gets no new batch for a moment, so fresh
      // batches do not burn their retry budget on it while discovery still lists it (issue 6).
      if (err instanceof AttemptError && err.unreachable) deps.ledger.suspend(executor.id, SUSPEND_MS);
      if (refused) {
        holdSlotMs = REFUSED_BACKOFF_MS;
        tracker.requeue(b.index, attempt, message);
        return;
      }
      const outcome = tracker.fail(b.index, attempt, message);
      if (outcome === 'stale') return;
      deps.metrics?.batch(outcome === 'retry' ? 'retried' : 'failed');
      deps.logger.warn(
        { jobId: job.jobId, batch: b.index, attempt, executor: executor.id, err: message, outcome },
        'batch attempt failed',
      );
      if (outcome === 'quarantined') {
        const f = tracker.failures()[0];
        failure = {
          error: f
            ? `batch ${f.batchIndex} (bytes ${f.offset}..${f.offset + f.length}) failed after ${f.attempts} attempts: ${f.errors.join('; ')}`
            : message,
        };
        stop();
      }
    } finally {
      perBatch.delete(attempt);
      if (perBatch.size === 0 && attemptAborts.get(b.index) === perBatch) attemptAborts.delete(b.index);
      inFlight--;
      deps.metrics?.running(-1);
      // No closure per attempt (a `__name` call each under tsx): the timer gets the release's arguments.
      if (holdSlotMs > 0) setTimeout(releaseSlot, holdSlotMs, deps.ledger, executor.id).unref();
      else deps.ledger.release(executor.id);
      wake.notify();
    }
  }

  async function emit(output: BatchOutput): Promise<void> {
    for (;;) {
      const waiting = wake.wait();
      const [ready] = reorder.take(1);
      if (ready) {
        heldBytes -= ready.item?.bytes ?? 0;
        headIndex = ready.index + 1;
        if (abort.signal.aborted) return;
        if (ready.item) await output(ready.index, ready.item, tracker.get(ready.index)?.length ?? 0);
        continue;
      }
      if (abort.signal.aborted) return;
      if (planningDone && reorder.emitted() === tracker.stats().planned) return;
      await waiting;
    }
  }

  const aborted = new Promise<undefined>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
  );

  /** All slots of all executors: a large batch is sent ahead only while at least this many stay queued. */
  function slotsInAll(): number {
    let n = 0;
    for (const e of deps.ledger.executors()) n += e.slots;
    return n;
  }

  async function dispatch(source: BatchSource): Promise<void> {
    let starvedSince: number | undefined;
    let starvedTimer: NodeJS.Timeout | undefined;
    let speculationTimer: NodeJS.Timeout | undefined;
    const scanEveryMs = speculation ? Math.max(25, speculation.minAgeMs / 4) : 0;
    let nextScanAt = 0;
    try {
      for (;;) {
        const waiting = wake.wait();
        if (abort.signal.aborted) return;
        // Set when planning stopped early to let a free slot start: planning goes on right after dispatch.
        let planMore = false;
        // Plan ahead while the reorder window admits the next batch (a full window pauses planning).
        while (!planningDone && tracker.stats().queued < lookahead && reorder.tryAdmit(tracker.stats().planned)) {
          // A cancel must not wait for a caller who stopped sending input.
          const next = await Promise.race([source.next(), aborted]);
          if (abort.signal.aborted) return;
          if (!next) {
            planningDone = true;
            progress.setPlanningDone();
            // The emitter may be waiting for exactly this (the last batch was already emitted, or none exist).
            wake.notify();
            break;
          }
          tracker.add(next);
          if (job.resume?.done(next.index)) {
            tracker.skip(next.index);
            reorder.put(next.index, null);
            continue;
          }
          if (next.bytes) inlineBytes.set(next.index, next.bytes);
          deps.metrics?.batch('queued');
          // A slot is free: send it this batch before planning the rest of the lookahead. Planning 8 batches
          // of 4 MiB first (a quote-aware scan of 32 MiB) kept every slot idle at a job's start (issue 7).
          if (inFlight < job.maxInstances && inFlight < slotsInAll()) {
            planMore = true;
            break;
          }
        }
        // Dispatch: at most maxInstances in flight, one batch per free slot, least-loaded first.
        while (inFlight < job.maxInstances) {
          let b = tracker.nextQueued();
          if (!b || !reorder.tryAdmit(b.index)) break;
          if (heldBytes >= heldBytesLimit) {
            // The caller is behind: start nothing that would only add to what it has not read — except the
            // batch an in-order caller waits for (held outputs cannot go out before it: no deadlock).
            const head = job.order === 'input' ? tracker.get(headIndex) : undefined;
            if (!head || head.state !== 'queued') break;
            b = head;
          }
          // Summing the slots only for large batches: tiny ones are dispatched thousands a second.
          const ahead =
            b.length > AHEAD_MAX_BYTES ? aheadFor(b.length, tracker.stats().queued - 1, slotsInAll()) : aheadFor(b.length);
          const executor = deps.ledger.pick(tracker.triedOn(b.index), ahead);
          if (!executor) break;
          const attempt = tracker.start(b.index, executor.id);
          deps.ledger.acquire(executor.id);
          inFlight++;
          deps.metrics?.batch('started');
          deps.metrics?.running(1);
          peakInFlight = Math.max(peakInFlight, inFlight);
          void attemptBatch(source, b, executor, attempt, ahead > 0);
        }
        if (speculation) {
          // Free slots and nothing queued to use them: back up batches far slower than their peers. A batch
          // is slow only after minAgeMs, so a look every scanEveryMs is enough — looking on every wake scans
          // every batch of the job and sorts every duration, per batch (issue 7: at thousands of tiny batches
          // per second with nothing queued, it took half the coordinator's CPU).
          const t = Date.now();
          if (tracker.stats().queued === 0 && t >= nextScanAt) {
            nextScanAt = t + scanEveryMs;
            for (const b of tracker.slowBatches(speculation)) {
              if (inFlight >= job.maxInstances) break;
              const avoid = new Set([...tracker.triedOn(b.index), ...tracker.runningOn(b.index)]);
              const executor = deps.ledger.pick(avoid);
              if (!executor || avoid.has(executor.id)) continue;
              const attempt = tracker.speculate(b.index, executor.id);
              deps.ledger.acquire(executor.id);
              inFlight++;
              deps.metrics?.batch('started');
              deps.metrics?.batch('speculative');
              deps.metrics?.running(1);
              peakInFlight = Math.max(peakInFlight, inFlight);
              deps.logger.info(
                { jobId: job.jobId, batch: b.index, attempt, executor: executor.id },
                'speculative backup attempt started',
              );
              void attemptBatch(source, b, executor, attempt);
            }
          }
          // A batch becomes slow by time passing alone: look again while batches run (one timer at a time,
          // not a new one per wake).
          if (!speculationTimer && tracker.stats().running > 0) {
            speculationTimer = setTimeout(() => {
              speculationTimer = undefined;
              wake.notify();
            }, scanEveryMs);
            speculationTimer.unref();
          }
        }
        if (planningDone && tracker.allDone()) return;
        // No executor at all while work waits: give discovery a while, then fail the job as unavailable.
        const starved = deps.ledger.executors().length === 0 && tracker.stats().queued > 0;
        if (starved && starvedSince === undefined) {
          starvedSince = Date.now();
          starvedTimer = setTimeout(() => wake.notify(), deps.noExecutorTimeoutMs);
        } else if (!starved) {
          starvedSince = undefined;
          if (starvedTimer) clearTimeout(starvedTimer);
        }
        if (starvedSince !== undefined && Date.now() - starvedSince >= deps.noExecutorTimeoutMs) {
          failure = { error: `no executor available for ${deps.noExecutorTimeoutMs} ms` };
          stop();
          return;
        }
        if (planMore) continue;
        await waiting;
      }
    } finally {
      if (starvedTimer) clearTimeout(starvedTimer);
      if (speculationTimer) clearTimeout(speculationTimer);
    }
  }

  return {
    async run(source, output) {
      const unsubscribe = [deps.ledger.onChange(() => wake.notify()), reorder.onChange(() => wake.notify())];
      progress.setBytesTotal(source.bytesTotal);
      if (job.resume) progress.restore(job.resume.counts, job.resume.bytesDone);
      const emitter = emit(output).catch((err: unknown) => {
        // The caller went away or the sink failed: nothing more can be delivered, so the job stops.
        cancelReason ??= `output failed: ${(err as Error).message}`;
        stop();
      });
      try {
        await dispatch(source);
      } catch (err) {
        // The source itself failed (unreadable file, malformed stream input): the job fails.
        failure ??= { error: `reading the input failed: ${(err as Error).message}` };
        stop();
      } finally {
        await emitter;
        for (const u of unsubscribe) u();
      }
      // Let attempts that are being cancelled release their slots before the job reports its end.
      while (inFlight > 0) await wake.wait();
      if (failure) return { state: 'failed', error: failure.error, failures: tracker.failures() };
      if (cancelReason !== undefined) return { state: 'cancelled', reason: cancelReason };
      return { state: 'succeeded' };
    },
    cancel(reason) {
      if (cancelReason !== undefined || failure) return;
      cancelReason = reason;
      stop();
    },
    progress: (state) => progress.snapshot(state, tracker.stats()),
    load: () => ({ inFlight, queued: tracker.stats().queued, peakInFlight }),
    globals: () => globals.snapshot(),
    aggregates: () => aggregate,
    shares: () => progress.shares(),
  };
}

function releaseSlot(ledger: SlotLedger, executorId: string): void {
  ledger.release(executorId);
}
