// JobService except RunJob: reads come from the job records in config-store; SubmitJob, WatchJob and
// CancelJob go to a coordinator (the one that owns the job, found through discovery).
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import {
  ENDED_JOB_STATES,
  ResourceKind,
  type CancelJobRequest,
  type CancelJobResponse,
  type GetJobRequest,
  type GetJobResponse,
  type Job,
  type JobServiceServer,
  type ListJobsRequest,
  type ListJobsResponse,
  type SubmitJobRequest,
  type SubmitJobResponse,
  type WatchJobRequest,
  type WatchJobResponse,
} from '@flowmesh/contracts';
import {
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  bidi,
  serverStream,
  unary,
  write,
  type CallContext,
} from '@flowmesh/runtime';
import { listJobPage } from '@flowmesh/config/job-listing';
import { callerSpec } from './caller-spec.js';
import type { Guard } from '../access/guard.js';
import { findResource, type Store } from '../downstream/store.js';
import type { CoordinatorDirectory } from '../downstream/coordinator-directory.js';
import type { CoordinatorPicker } from '../routing/coordinator-picker.js';
import { admitJob, type JobLimiter } from '../limits/job-limiter.js';
import { messageReader } from '../downstream/message-reader.js';
import { grpcCode, unaryCall } from '../downstream/unary-call.js';
import { createRunJobHandler, type RunJobDeps } from './run-job.js';

export interface JobServiceDeps extends RunJobDeps {
  store: Store;
  guard: Guard;
  directory: CoordinatorDirectory;
  picker: CoordinatorPicker;
  limiter: JobLimiter;
  /** Budget of unary calls to coordinators. @default 10000 */
  coordinatorTimeoutMs?: number;
}

export function createJobService(deps: JobServiceDeps): JobServiceServer {
  const timeoutMs = deps.coordinatorTimeoutMs ?? 10_000;
  const runJob = createRunJobHandler(deps);

  async function loadJob(jobId: string, ctx: CallContext): Promise<Job> {
    if (!jobId) throw new InvalidArgumentError('job_id', 'name the job');
    const spec = (await findResource(deps.store, ResourceKind.RESOURCE_KIND_JOB, jobId, ctx))?.spec;
    if (spec?.$case !== 'job') throw new NotFoundError(`job ${jobId} not found`);
    return spec.job;
  }

  function coordinatorOf(job: Job) {
    const c = deps.directory.byId(job.coordinatorId);
    if (!c)
      throw new UnavailableError(
        `job ${job.id}: its coordinator ${job.coordinatorId || '(none)'} is not in the cluster`,
      );
    return c;
  }

  const callOpts = (ctx: CallContext) => ({
    timeoutMs,
    signal: ctx.signal,
    deadline: ctx.deadline,
    metadata: deps.directory.metadata(),
  });

  return {
    runJob: bidi(runJob),

    submitJob: unary(async (req: SubmitJobRequest, ctx): Promise<SubmitJobResponse> => {
      const identity = await deps.guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      const spec = callerSpec(req.spec, identity, 'spec');
      const release = admitJob(deps.limiter, identity.keyId);
      try {
        const tried = new Set<string>();
        for (;;) {
          const c = deps.picker.pick(deps.directory.candidates(), tried);
          if (!c) throw new UnavailableError('no coordinator is available; is the mesh running?');
          tried.add(c.id);
          const client = deps.directory.client(c.address);
          try {
            return await unaryCall(client.submitJob.bind(client), { spec }, callOpts(ctx));
          } catch (err) {
            if (grpcCode(err) !== status.UNAVAILABLE || tried.size >= 3) throw err;
            deps.picker.markSuspect(c.id);
          }
        }
      } finally {
        // A submitted job runs detached: the per-key limit counts callers attached to running jobs.
        release();
      }
    }),

    watchJob: serverStream(
      async (req: WatchJobRequest, ctx: CallContext, call: ServerWritableStream<WatchJobRequest, WatchJobResponse>) => {
        await deps.guard.check(ctx.method, ctx.metadata, req, ctx.peer);
        let job: Job | undefined;
        try {
          job = await loadJob(req.jobId, ctx);
        } catch (err) {
          // Not recorded yet (just submitted): the coordinator running it can still answer.
          if (!(err instanceof NotFoundError)) throw err;
        }
        if (job && ENDED_JOB_STATES.has(job.state) && !req.resumeResults) {
          if (job.progress) await write(call, { msg: { $case: 'progress', progress: job.progress } });
          await write(call, { msg: { $case: 'summary', summary: { job } } });
          return;
        }
        // Re-attaching to a result stream (issue 6): the owner if it is still there, else any coordinator,
        // which takes the job over from its checkpoint when the owner is gone.
        const owner = job ? deps.directory.byId(job.coordinatorId) : undefined;
        const targets = req.resumeResults
          ? [...(owner ? [owner] : []), ...deps.directory.candidates().filter((c) => c.id !== owner?.id)]
          : job
            ? [coordinatorOf(job)]
            : deps.directory.candidates();
        let refused: unknown;
        for (const c of targets) {
          const down = deps.directory
            .client(c.address)
            .watchJob({ request: req }, deps.directory.metadata(), { deadline: ctx.deadline });
          const onAbort = (): void => down.cancel();
          ctx.signal.addEventListener('abort', onAbort, { once: true });
          const reader = messageReader<{ response?: WatchJobResponse }>(down);
          let relayed = false;
          try {
            // Pull one, write one (awaiting drain): the coordinator is read as fast as the caller reads.
            for (let m = await reader.next(); m; m = await reader.next()) {
              relayed = true;
              if (m.response) await write(call, m.response);
            }
            return;
          } catch (err) {
            const code = grpcCode(err);
            // Asking around for an unrecorded job: "not mine" from one coordinator means try the next.
            if (!job && !relayed && (code === status.NOT_FOUND || code === status.FAILED_PRECONDITION)) continue;
            // A re-attach: a coordinator that is gone, or one that may not take the job (yet), is not the last word.
            if (req.resumeResults && !relayed && code !== status.NOT_FOUND) {
              refused = err;
              continue;
            }
            if (code === status.UNAVAILABLE || code === status.INTERNAL || code === status.UNKNOWN) {
              throw new UnavailableError(`job ${req.jobId}: coordinator ${c.id} became unavailable while watching`, {
                cause: err,
              });
            }
            throw err;
          } finally {
            ctx.signal.removeEventListener('abort', onAbort);
            down.cancel();
          }
        }
        if (refused !== undefined)
          throw new UnavailableError(`job ${req.jobId}: no coordinator could resume its results yet; retry`, {
            cause: refused,
          });
        if (!job) {
          // Unrecorded when we looked, and no coordinator runs it now: it may have ended in between (a
          // short job ends in milliseconds), so its record is the answer if it has one by now.
          const ended = await loadJob(req.jobId, ctx);
          if (ended.progress) await write(call, { msg: { $case: 'progress', progress: ended.progress } });
          if (ENDED_JOB_STATES.has(ended.state))
            await write(call, { msg: { $case: 'summary', summary: { job: ended } } });
          else
            throw new UnavailableError(
              `job ${req.jobId}: its coordinator ${ended.coordinatorId} did not answer; retry`,
            );
          return;
        }
        throw new NotFoundError(`job ${req.jobId} not found`);
      },
    ),

    getJob: unary(async (req: GetJobRequest, ctx): Promise<GetJobResponse> => {
      await deps.guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      return { job: await loadJob(req.jobId, ctx) };
    }),

    listJobs: unary(async (req: ListJobsRequest, ctx): Promise<ListJobsResponse> => {
      await deps.guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      if (req.pageSize > 1000) throw new InvalidArgumentError('page_size', 'at most 1000');
      // Filters apply before paging: a page is full unless it is the last (job-listing.ts).
      return listJobPage(
        (page) => deps.store.list({ kind: ResourceKind.RESOURCE_KIND_JOB, prefix: '', ...page }, ctx),
        {
          ...req,
          pageSize: req.pageSize || 50,
        },
      );
    }),

    cancelJob: unary(async (req: CancelJobRequest, ctx): Promise<CancelJobResponse> => {
      const identity = await deps.guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      if (!req.jobId) throw new InvalidArgumentError('job_id', 'name the job');
      const down = { jobId: req.jobId, reason: req.reason || `cancelled by ${identity.user}`, actor: identity.user };
      let job: Job | undefined;
      try {
        job = await loadJob(req.jobId, ctx);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      let res: CancelJobResponse;
      const owner = job ? deps.directory.byId(job.coordinatorId) : undefined;
      if (job && ENDED_JOB_STATES.has(job.state)) {
        res = { job };
      } else if (owner) {
        const client = deps.directory.client(owner.address);
        res = await unaryCall(client.cancelJob.bind(client), down, callOpts(ctx));
      } else {
        // Not recorded yet (or its owner left): ask every coordinator; the one that has it answers.
        res = await cancelAnywhere(down, ctx, req.jobId);
      }
      deps.guard.recordChange(identity, ctx.method, req.jobId, `cancel: ${req.reason || 'no reason given'}`);
      return res;
    }),
  };

  async function cancelAnywhere(
    down: { jobId: string; reason: string; actor: string },
    ctx: CallContext,
    jobId: string,
  ): Promise<CancelJobResponse> {
    const results = await Promise.allSettled(
      deps.directory.candidates().map((c) => {
        const client = deps.directory.client(c.address);
        return unaryCall(client.cancelJob.bind(client), down, callOpts(ctx));
      }),
    );
    const ok = results.find((r): r is PromiseFulfilledResult<CancelJobResponse> => r.status === 'fulfilled');
    if (ok) return ok.value;
    const lost = results.some((r) => r.status === 'rejected' && grpcCode(r.reason) === status.UNAVAILABLE);
    if (lost) throw new UnavailableError(`job ${jobId}: could not reach every coordinator to cancel it; retry`);
    throw new NotFoundError(`job ${jobId} not found`);
  }
}
