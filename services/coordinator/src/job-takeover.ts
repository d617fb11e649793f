// Takeover of orphaned jobs (issue 6, item 3). A checkpoint names its owner; the owner is alive while its
// discovery record is (an etcd lease, or the file registry on one machine). Every coordinator sweeps the
// checkpoints — at start, whenever a coordinator leaves discovery, and every `sweepEveryMs` — and adopts
// those whose owner is gone (or is itself in an earlier life: a restarted coordinator keeps its id) by a
// compare-and-set on the checkpoint's revision that names it and raises the epoch. Exactly one contender
// wins; executors refuse the old epoch, and the old owner's next checkpoint write fails, so it lets go.
import { JobState, type Job } from '@flowmesh/contracts';
import { DeposedError, type CheckpointStore, type StoredCheckpoint } from './checkpoint-store.js';
import { startJob, type CoordinatorContext } from './run-job.js';

export interface TakeoverOptions {
  /** Ids of the coordinators registered in discovery now. */
  liveCoordinators(): Set<string>;
  /** A sweep at least this often, besides the ones discovery triggers. */
  sweepEveryMs: number;
}

export interface Takeover {
  /** Looks for orphaned jobs now (coalesced with a sweep in progress). */
  sweep(): Promise<void>;
  close(): void;
}

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export function startTakeover(ctx: CoordinatorContext, opts: TakeoverOptions): Takeover {
  if (!ctx.checkpoints || !ctx.owned) throw new Error('takeover needs checkpoints and the owned-jobs set');
  const store: CheckpointStore = ctx.checkpoints;
  const owned: Set<string> = ctx.owned;
  const log = ctx.logger.child({ component: 'takeover' });
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;

  async function adopt(stored: StoredCheckpoint): Promise<void> {
    const cp = stored.checkpoint;
    const jobId = cp.jobId;
    // A job that was recorded as ended lost only its checkpoint's removal: remove it, do not run it again.
    const record: Job | undefined = await ctx.config.getJob(jobId).catch(() => undefined);
    if (record && TERMINAL.has(record.state)) {
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

  async function sweepOnce(): Promise<void> {
    const live = opts.liveCoordinators();
    const checkpoints = await store.list();
    for (const stored of checkpoints) {
      if (closed) return;
      const { jobId, coordinatorId } = stored.checkpoint;
      if (owned.has(jobId) || ctx.registry.get(jobId)) continue;
      // Our own id but not a job we run: a checkpoint from before this process started.
      if (coordinatorId !== ctx.id && live.has(coordinatorId)) continue;
      owned.add(jobId);
      try {
        await adopt(stored);
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
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
