// Takeover of orphaned jobs (issue 6, item 3). A checkpoint names its owner; the owner is alive while its
// discovery record is (an etcd lease, or the file registry on one machine). Every coordinator sweeps the
// checkpoints — at start, whenever a coordinator leaves discovery, and every `sweepEveryMs` — and adopts
// those whose owner is gone (or is itself in an earlier life: a restarted coordinator keeps its id) by a
// compare-and-set on the checkpoint's revision that names it and raises the epoch. Exactly one contender
// wins; executors refuse the old epoch, and the old owner's next checkpoint write fails, so it lets go.
import { ENDED_JOB_STATES, JobState, type Job } from '@flowmesh/contracts';
import { AbortedError, FailedPreconditionError, NotFoundError } from '@flowmesh/runtime';
import { DeposedError, type CheckpointStore, type StoredCheckpoint } from './checkpoint-store.js';
import { startJob, type CoordinatorContext } from './run-job.js';

export interface TakeoverOptions {
  /** Ids of the coordinators registered in discovery now. */
  liveCoordinators(): Set<string>;
  /**
   * Whether a registered coordinator answers (GetLoad with a short deadline). A SIGKILLed one stays in
   * discovery until its lease expires but refuses connections at once: a re-attaching caller need not wait.
   */
  answers(coordinatorId: string): Promise<boolean>;
  /** A sweep at least this often, besides the ones discovery triggers. */
  sweepEveryMs: number;
  /** A job streaming its results whose owner is gone fails when no caller re-attaches within this. */
  reattachGraceMs: number;
}

export interface Takeover {
  /** Looks for orphaned jobs now (coalesced with a sweep in progress). */
  sweep(): Promise<void>;
  /**
   * A caller re-attaches to a job whose results it streamed (WatchJob resume_results): when the job's
   * owner is gone, this coordinator takes it over (CAS, epoch raised) and the caller gets the results.
   * FAILED_PRECONDITION while the owner still answers; NOT_FOUND without a checkpoint.
   */
  adoptForCaller(jobId: string): Promise<StoredCheckpoint>;
  close(): void;
}

export function startTakeover(ctx: CoordinatorContext, opts: TakeoverOptions): Takeover {
  if (!ctx.checkpoints || !ctx.owned) throw new Error('takeover needs checkpoints and the owned-jobs set');
  const store: CheckpointStore = ctx.checkpoints;
  const owned: Set<string> = ctx.owned;
  const log = ctx.logger.child({ component: 'takeover' });
  let running: Promise<void> | undefined;
  // Stream-result jobs seen without a live owner, and since when (only a re-attaching caller resumes them).
  const orphanedSince = new Map<string, number>();
  let again = false;
  let closed = false;

  async function adopt(stored: StoredCheckpoint): Promise<void> {
    const cp = stored.checkpoint;
    const jobId = cp.jobId;
    // A job that was recorded as ended lost only its checkpoint's removal: remove it, do not run it again.
    const record: Job | undefined = await ctx.config.getJob(jobId).catch(() => undefined);
    if (record && ENDED_JOB_STATES.has(record.state)) {
      await store.remove(jobId, stored.revision, ctx.id).catch(() => undefined);
      return;
    }
    if (!cp.spec) {
      log.error({ jobId }, 'checkpoint without a job spec: cannot take the job over');
      return;
    }
    const next = { ...cp, coordinatorId: ctx.id, epoch: cp.epoch + 1 };
    let revision: number;
    try {
      revision = await store.put(next, stored.revision, ctx.id);
    } catch (err) {
      if (err instanceof DeposedError) return; // another coordinator won this one
      throw err;
    }
    log.info(
      { jobId, from: cp.coordinatorId, epoch: next.epoch, doneBelow: cp.doneBelow, committing: cp.committing },
      'taking over job',
    );
    try {
      const started = await startJob(ctx, cp.spec, {}, { checkpoint: next, revision });
      started.run().catch((err: unknown) => log.info({ jobId, err: (err as Error).message }, 'adopted job ended'));
    } catch (err) {
      // The job cannot be set up again (its flow or input is gone): it fails, and nobody retries it.
      const message = `taking the job over failed: ${(err as Error).message}`;
      log.error({ jobId, err }, 'taking over job failed');
      if (record)
        await ctx.config
          .putJob({ ...record, state: JobState.JOB_STATE_FAILED, error: message, finishedAt: new Date() }, ctx.id)
          .catch(() => undefined);
      await store.remove(jobId, revision, ctx.id).catch(() => undefined);
    }
  }

  /** A streamed job nobody came back for: it fails (its results had nowhere to go). */
  async function abandon(stored: StoredCheckpoint): Promise<void> {
    const cp = stored.checkpoint;
    const revision = await store.put({ ...cp, coordinatorId: ctx.id, epoch: cp.epoch + 1 }, stored.revision, ctx.id);
    const record = await ctx.config.getJob(cp.jobId).catch(() => undefined);
    const error = `coordinator ${cp.coordinatorId} died and no caller re-attached within ${opts.reattachGraceMs} ms`;
    log.warn({ jobId: cp.jobId }, error);
    if (record && !ENDED_JOB_STATES.has(record.state))
      await ctx.config.putJob({ ...record, state: JobState.JOB_STATE_FAILED, error, finishedAt: new Date() }, ctx.id);
    await store.remove(cp.jobId, revision, ctx.id);
  }

  async function adoptForCaller(jobId: string): Promise<StoredCheckpoint> {
    if (owned.has(jobId) || ctx.registry.get(jobId))
      throw new FailedPreconditionError(`job ${jobId} runs on coordinator ${ctx.id} with its caller attached`);
    const stored = await store.get(jobId);
    if (!stored) throw new NotFoundError(`job ${jobId} has no checkpoint: it ended, or it cannot be resumed`);
    const cp = stored.checkpoint;
    if (!cp.streamResults || !cp.spec)
      throw new FailedPreconditionError(`job ${jobId} writes a file: it has no result stream to resume`);
    const owner = cp.coordinatorId;
    if (owner !== ctx.id && opts.liveCoordinators().has(owner) && (await opts.answers(owner)))
      throw new FailedPreconditionError(`job ${jobId} runs on coordinator ${owner}`);
    owned.add(jobId);
    try {
      const next = { ...cp, coordinatorId: ctx.id, epoch: cp.epoch + 1 };
      const revision = await store.put(next, stored.revision, ctx.id);
      orphanedSince.delete(jobId);
      log.info(
        { jobId, from: owner, epoch: next.epoch, doneBelow: cp.doneBelow },
        'caller re-attached: taking over job',
      );
      return { checkpoint: next, revision };
    } catch (err) {
      owned.delete(jobId);
      if (err instanceof DeposedError)
        throw new AbortedError(`job ${jobId} was just taken over by another coordinator; re-attach again`);
      throw err;
    }
  }

  async function sweepOnce(): Promise<void> {
    const live = opts.liveCoordinators();
    const checkpoints = await store.list();
    for (const stored of checkpoints) {
      if (closed) return;
      const { jobId, coordinatorId } = stored.checkpoint;
      if (owned.has(jobId) || ctx.registry.get(jobId)) continue;
      // Our own id but not a job we run: a checkpoint from before this process started.
      if (coordinatorId !== ctx.id && live.has(coordinatorId)) continue;
      if (stored.checkpoint.streamResults) {
        const since = orphanedSince.get(jobId) ?? Date.now();
        orphanedSince.set(jobId, since);
        if (Date.now() - since < opts.reattachGraceMs) continue;
      }
      orphanedSince.delete(jobId);
      owned.add(jobId);
      try {
        if (stored.checkpoint.streamResults) await abandon(stored);
        else await adopt(stored);
      } catch (err) {
        log.warn({ jobId, err }, 'takeover attempt failed; the next sweep tries again');
      } finally {
        // startJob keeps it owned while the job runs (its own entry); otherwise it is free again.
        if (!ctx.registry.get(jobId)) owned.delete(jobId);
      }
    }
  }

  function sweep(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await sweepOnce().catch((err: unknown) => log.warn({ err }, 'checkpoint sweep failed'));
      } while (again && !closed);
    })().finally(() => (running = undefined));
    return running;
  }

  const timer = setInterval(() => void sweep(), opts.sweepEveryMs);
  timer.unref();
  return {
    sweep,
    adoptForCaller,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
