// The checkpoint of one running job (issue 6, item 3): which batches are done — written to the file sink —
// with the counts, globals, partial aggregates and sink lengths merged from exactly those batches, so a
// coordinator taking the job over starts from a consistent state and re-runs only the other batches.
// Writes are coalesced (at most one every `everyMs`, never one per batch on the hot path) and are
// compare-and-set on the checkpoint's revision: a lost CAS means another coordinator took the job over,
// and this one must stop it without committing or recording anything.
import type { JobCheckpoint, JobSpec } from '@flowmesh/contracts';
import type { Logger } from 'pino';
import type { VerifiedAttempt } from './attempt-collector.js';
import { DeposedError, type CheckpointStore } from './checkpoint-store.js';
import { createGlobals } from './globals.js';
import { emptyCounts } from './progress.js';

export interface CheckpointWriterOptions {
  store: CheckpointStore;
  /** This coordinator's id: the owner named in every write. */
  owner: string;
  logger: Logger;
  /** At most one write per this many ms while batches complete. */
  everyMs: number;
  /** Merges two partial aggregates (the flow's rule); absent when the flow has none. */
  mergeAggregates?: (a: unknown, b: unknown) => unknown;
  /** fsync of the sink's files before their lengths are recorded. */
  syncSink?: () => Promise<void>;
  sinkLengths?: () => { output: number; rejects: number };
  /** Called once when a write finds the job owned by another coordinator. */
  onDeposed(reason: string): void;
}

export interface CheckpointWriter {
  readonly epoch: number;
  /** A batch was written to the sink: it is done from now on. */
  done(index: number, result: VerifiedAttempt, bytesCovered: number): void;
  /** Writes now (waiting for a write in flight); `committing` marks every batch done. Throws DeposedError. */
  flush(opts?: { committing?: boolean }): Promise<void>;
  /** Removes the checkpoint (the job is recorded as ended); nothing to do when it was never created. */
  remove(): Promise<void>;
  /** A deferred creating write (see createCheckpointWriter) is made now; a no-op once it was made. */
  anchor(): void;
  /** Whether the checkpoint was created (or its creating write is on its way). */
  readonly anchored: boolean;
  /** Stops the timer; nothing is written afterwards. */
  close(): void;
  readonly deposed: boolean;
  /** The batches done under earlier epochs and the state merged from them (a resumed job). */
  isDone(index: number): boolean;
}

/** A fresh job: its first checkpoint (epoch 1, nothing done) and the state a writer starts from. */
export function initialCheckpoint(input: {
  jobId: string;
  owner: string;
  spec: JobSpec;
  globals: Record<string, unknown>;
  createdAt: Date;
  /** Results go to a caller (stream sink), not to a file. */
  streamResults: boolean;
  /** Slots the file's batches were planned for (a takeover plans the same ranges with it). @default 0 */
  planSlots?: number;
}): JobCheckpoint {
  return {
    jobId: input.jobId,
    coordinatorId: input.owner,
    epoch: 1,
    plannedUntil: 0,
    planningDone: false,
    batches: [],
    globals: input.globals,
    spec: input.spec,
    doneBelow: 0,
    aggregates: undefined,
    counts: emptyCounts(),
    bytesDone: 0,
    outputBytes: 0,
    rejectsBytes: 0,
    sinkEpoch: 1,
    committing: false,
    createdAt: input.createdAt,
    submittedBy: input.spec.submittedBy,
    streamResults: input.streamResults,
    planSlots: input.planSlots ?? 0,
  };
}

/**
 * A writer over a checkpoint this coordinator owns at `startRevision` (the creating write, or the revision
 * its takeover CAS won). A function is a deferred creating write: it is made by `anchor()` or by the first
 * write, and a job that ends before either never touches the store (issue 7: a one-batch job that ends in
 * milliseconds saves the create and the removal; its caller's gateway runs it again if the coordinator dies
 * before it is anchored).
 * Done batches are kept as `doneBelow` plus the done indices above it: bounded by the reorder window.
 */
export function createCheckpointWriter(
  opts: CheckpointWriterOptions,
  cp: JobCheckpoint,
  startRevision: number | Promise<number> | (() => Promise<number>),
): CheckpointWriter {
  let doneBelow = cp.doneBelow;
  const doneAtStart = new Set(cp.batches.filter((b) => b.done).map((b) => b.index));
  const doneAbove = new Set(doneAtStart);
  const counts = { ...emptyCounts(), ...(cp.counts ?? {}) };
  let bytesDone = cp.bytesDone;
  const globals = createGlobals(cp.globals ?? {});
  let aggregate: unknown = cp.aggregates;
  // The sink's lengths when the last batch was marked done, not now: a batch's bytes reach the sink in
  // several awaited writes before it is marked done, and a checkpoint taken in between would record bytes
  // of a batch it says is not done — which the next owner would keep and then write again (a duplicate).
  let doneLengths = { output: cp.outputBytes, rejects: cp.rejectsBytes };
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;
  let deposed = false;

  const depose = (reason: string): void => {
    if (deposed) return;
    deposed = true;
    closed = true;
    if (timer) clearTimeout(timer);
    opts.logger.warn({ jobId: cp.jobId, epoch: cp.epoch, reason }, 'job taken over by another coordinator');
    opts.onDeposed(reason);
  };
  // The creating write may fail: the id is taken (this job never owned a checkpoint: it stops), or the
  // store did not answer (the next write tries again from "must not exist", and recognises a write that landed).
  const started = (created: number | Promise<number>): Promise<number> => {
    const r = Promise.resolve(created).catch((err: unknown) => {
      if (err instanceof DeposedError) {
        depose(err.message);
        throw err;
      }
      opts.logger.warn({ jobId: cp.jobId, err }, 'first checkpoint write failed');
      return 0;
    });
    r.catch(() => undefined);
    return r;
  };
  const deferred = typeof startRevision === 'function' ? startRevision : undefined;
  let anchored = deferred === undefined;
  let revision: Promise<number> = deferred ? Promise.resolve(0) : started(startRevision as number | Promise<number>);
  const anchor = (): void => {
    if (anchored || closed) return;
    anchored = true;
    revision = started(deferred!());
  };

  async function write(committing: boolean): Promise<void> {
    // State first, then fsync: the lengths recorded are at most what the sync made durable.
    const lengths = opts.sinkLengths ? doneLengths : undefined;
    const next: JobCheckpoint = {
      ...cp,
      coordinatorId: opts.owner,
      doneBelow,
      batches: [...doneAbove]
        .sort((a, b) => a - b)
        .map((index) => ({
          index,
          offset: 0,
          length: 0,
          firstLine: 0,
          done: true,
          attempts: 0,
          outputPart: '',
        })),
      counts: { ...counts },
      bytesDone,
      globals: globals.snapshot(),
      aggregates: aggregate as JobCheckpoint['aggregates'],
      outputBytes: lengths?.output ?? 0,
      rejectsBytes: lengths?.rejects ?? 0,
      sinkEpoch: cp.epoch,
      committing,
    };
    await opts.syncSink?.();
    anchor();
    const expected = await revision;
    try {
      revision = Promise.resolve(await opts.store.put(next, expected, opts.owner));
    } catch (err) {
      if (!(err instanceof DeposedError)) throw err;
      // An earlier write whose answer was lost (a timeout) may have landed: then the checkpoint is still ours.
      const now = await opts.store.get(cp.jobId);
      if (now && now.checkpoint.coordinatorId === opts.owner && now.checkpoint.epoch === cp.epoch) {
        revision = Promise.resolve(now.revision);
        revision = Promise.resolve(await opts.store.put(next, now.revision, opts.owner));
        return;
      }
      depose(
        now
          ? `coordinator ${now.checkpoint.coordinatorId} owns job ${cp.jobId} at epoch ${now.checkpoint.epoch} (ours: ${cp.epoch})`
          : `the checkpoint of job ${cp.jobId} is gone`,
      );
      throw err;
    }
  }

  async function flushOnce(committing: boolean): Promise<void> {
    while (writing) await writing.catch(() => undefined);
    if (deposed) throw new DeposedError(`job ${cp.jobId} is owned by another coordinator`);
    dirty = false;
    writing = write(committing).finally(() => (writing = undefined));
    await writing;
  }

  const schedule = (): void => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (!dirty || closed) return;
      flushOnce(false).catch((err: unknown) => {
        if (err instanceof DeposedError) return;
        // Not fatal: the next completed batch (or the commit) writes again.
        dirty = true;
        opts.logger.warn({ jobId: cp.jobId, err }, 'checkpoint write failed');
      });
    }, opts.everyMs);
    timer.unref();
  };

  return {
    get epoch() {
      return cp.epoch;
    },
    get deposed() {
      return deposed;
    },
    done(index, result, bytesCovered) {
      if (opts.sinkLengths) doneLengths = opts.sinkLengths();
      if (index === doneBelow) {
        doneBelow++;
        while (doneAbove.delete(doneBelow)) doneBelow++;
      } else doneAbove.add(index);
      const t = result.trailer;
      const c = t.counts;
      if (c) {
        counts.recordsIn += c.recordsIn;
        counts.recordsOut += c.recordsOut;
        counts.recordsRejected += c.recordsRejected;
        counts.recordsFiltered += c.recordsFiltered;
        counts.bytesIn += c.bytesIn;
        counts.bytesOut += c.bytesOut;
      }
      bytesDone += bytesCovered;
      globals.apply(t.counterDeltas, t.cacheSets);
      if (opts.mergeAggregates && t.aggregates)
        aggregate = aggregate === undefined ? t.aggregates : opts.mergeAggregates(aggregate, t.aggregates);
      dirty = true;
      schedule();
    },
    async flush(o = {}) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await flushOnce(o.committing ?? false);
    },
    async remove() {
      closed = true;
      if (timer) clearTimeout(timer);
      while (writing) await writing.catch(() => undefined);
      if (deposed || !anchored) return;
      await opts.store.remove(cp.jobId, await revision, opts.owner);
    },
    anchor,
    get anchored() {
      return anchored;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
    isDone: (index) => index < cp.doneBelow || doneAtStart.has(index),
  };
}
