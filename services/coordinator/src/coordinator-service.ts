// CoordinatorService handlers over the job machinery: RunJob (bidi, results streamed with backpressure),
// SubmitJob (detached), WatchJob (progress until the end), CancelJob, GetLoad.
import { ENDED_JOB_STATES } from '@flowmesh/contracts';
import type {
  CoordinatorServiceRunJobRequest,
  CoordinatorServiceServer,
  CoordinatorServiceWatchJobRequest,
  CoordinatorServiceWatchJobResponse,
  InputChunk,
  Job,
  JobProgress,
  RecordsPart,
  RunJobResponse,
  WatchJobResponse,
} from '@flowmesh/contracts';
import {
  bidi,
  FailedPreconditionError,
  InvalidArgumentError,
  isSpoolRelative,
  NotFoundError,
  serverStream,
  SPOOL_DIR_METADATA_KEY,
  SPOOL_ID_METADATA_KEY,
  unary,
  UnavailableError,
  write,
} from '@flowmesh/runtime';
import type { CallContext } from '@flowmesh/runtime';
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import { CONFIG_REVISION_HEADER } from '@flowmesh/config';
import { startJob, type CoordinatorContext, type JobIo } from './run-job.js';

/** A change made through the gateway just before this job must be seen by it (see CONFIG_REVISION_HEADER). */
function requireConfigRevision(ctx: CoordinatorContext, cctx: CallContext): void {
  const value = cctx.metadata.get(CONFIG_REVISION_HEADER)[0];
  const revision = typeof value === 'string' ? Number(value) : NaN;
  if (Number.isSafeInteger(revision) && revision > 0) ctx.config.requireRevision(revision);
}

/**
 * The caller's result spool (issue 7), when it named one: executors that write into the same spool put a
 * batch's records in a part there, and the caller is sent only its name. A malformed one is ignored (the
 * records then stream as before), never trusted as a path.
 */
function callerSpool(cctx: CallContext): JobIo['spool'] {
  const id = cctx.metadata.get(SPOOL_ID_METADATA_KEY)[0];
  const dir = cctx.metadata.get(SPOOL_DIR_METADATA_KEY)[0];
  if (typeof id !== 'string' || !id || typeof dir !== 'string' || !isSpoolRelative(dir)) return undefined;
  return { id, dir };
}

export function createCoordinatorService(ctx: CoordinatorContext): CoordinatorServiceServer {
  return {
    runJob: bidi(
      async (
        call: ServerDuplexStream<
          CoordinatorServiceRunJobRequest,
          { response?: RunJobResponse; recordsPart?: RecordsPart }
        >,
        cctx: CallContext,
      ) => {
        // Not destroyed when the caller half-closes: a stream's default async iterator destroys the whole
        // duplex at its end, and the results still have to be written (the part confirmations are read to it).
        const messages = call.iterator({ destroyOnReturn: false }) as AsyncIterator<CoordinatorServiceRunJobRequest>;
        const first = await messages.next();
        const msg = first.done ? undefined : first.value.request?.msg;
        if (msg?.$case !== 'start') throw new InvalidArgumentError('start', 'the first RunJob message must be start');
        requireConfigRevision(ctx, cctx);
        const send = (response: RunJobResponse): Promise<void> => write(call, { response });
        const spool = callerSpool(cctx);
        const started = await startJob(ctx, msg.start, {
          send,
          ...(spool
            ? {
                spool,
                sendPart: (recordsPart: RecordsPart) => write(call, { recordsPart }),
                partsSent: () => partsSent(messages),
              }
            : {}),
          input: callerInput(messages),
          ...(msg.start.coalesceBatches ? { coalesce: {} } : {}),
          signal: cctx.signal,
          ...(cctx.deadline ? { deadline: cctx.deadline } : {}),
        });
        await send({ msg: { $case: 'accepted', accepted: started.accepted } }).catch(() =>
          ctx.registry.get(started.accepted.jobId)?.cancel('the caller hung up'),
        );
        await started.run();
      },
    ),

    submitJob: unary(async (req, cctx) => {
      if (!req.spec) throw new InvalidArgumentError('spec', 'required');
      requireConfigRevision(ctx, cctx);
      // A client-chosen id makes submission idempotent: the same id answers with the job it already names.
      const id = req.spec.jobId;
      if (id) {
        const running = ctx.registry.get(id);
        if (running) return { accepted: running.accepted };
        const known = await ctx.config.getJob(id);
        if (known)
          return {
            accepted: {
              jobId: id,
              flow: known.flow,
              flowRevision: known.flowRevision,
              coordinatorId: known.coordinatorId,
              // A known job is not run again from this answer: its plan is the job's own business.
              planSlots: 0,
            },
          };
      }
      const started = await startJob(ctx, req.spec, {});
      started
        .run()
        .catch((err: unknown) =>
          ctx.logger.info({ jobId: started.accepted.jobId, err: (err as Error).message }, 'detached job ended'),
        );
      return { accepted: started.accepted };
    }),

    watchJob: serverStream((req, cctx, call) =>
      req.request?.resumeResults
        ? resumeResults(ctx, req.request.jobId, Number(req.request.afterBatch), req.request.coalesceBatches, cctx, call)
        : watch(ctx, req.request?.jobId ?? '', cctx.signal),
    ),

    cancelJob: unary(async (req) => {
      if (!req.jobId) throw new InvalidArgumentError('job_id', 'required');
      const handle = ctx.registry.get(req.jobId);
      if (!handle) return { job: await finishedJob(ctx, req.jobId) };
      handle.cancel(req.reason || (req.actor ? `cancelled by ${req.actor}` : 'cancelled'));
      return { job: await handle.done };
    }),

    getLoad: unary(async () => {
      const l = ctx.registry.load();
      return { runningJobs: l.runningJobs, batchesInFlight: l.batchesInFlight, batchesQueued: l.batchesQueued };
    }),
  };
}

/** The caller's further RunJob messages as input chunks, then 'end' (acks are not needed by this coordinator). */
async function* callerInput(
  messages: AsyncIterator<CoordinatorServiceRunJobRequest>,
): AsyncGenerator<InputChunk | 'end', void, undefined> {
  for (;;) {
    const r = await messages.next();
    if (r.done) return;
    const m = r.value.request?.msg;
    if (m?.$case === 'input') yield m.input;
    else if (m?.$case === 'endInput') {
      yield 'end';
      return;
    } else if (m?.$case === 'start') throw new InvalidArgumentError('start', 'a job is already started on this call');
  }
}

/**
 * The caller's confirmations of records parts (a job reading a file: its further messages are nothing else
 * it needs; the stream of them ends with the call).
 */
async function* partsSent(
  messages: AsyncIterator<CoordinatorServiceRunJobRequest>,
): AsyncGenerator<number, void, undefined> {
  for (;;) {
    const r = await messages.next();
    if (r.done) return;
    if (r.value.partSent) yield r.value.partSent.batchIndex;
  }
}

/** A job not running here: its record, if it has ended; otherwise it belongs to another coordinator. */
async function finishedJob(ctx: CoordinatorContext, id: string): Promise<Job> {
  const job = await ctx.config.getJob(id);
  if (!job) throw new NotFoundError(`job ${id} not found`);
  if (!ENDED_JOB_STATES.has(job.state) && job.coordinatorId !== ctx.id) {
    throw new FailedPreconditionError(`job ${id} runs on coordinator ${job.coordinatorId}, not on ${ctx.id}`);
  }
  return job;
}

/**
 * A caller re-attaches to the result stream of a job whose coordinator died (issue 6): this coordinator
 * takes the job over from its checkpoint and streams every batch after `afterBatch` (the last one the
 * caller has whole; -1: none), then the summary. Batches the caller has are not sent again.
 */
async function resumeResults(
  ctx: CoordinatorContext,
  jobId: string,
  afterBatch: number,
  coalesce: boolean,
  cctx: CallContext,
  call: ServerWritableStream<CoordinatorServiceWatchJobRequest, CoordinatorServiceWatchJobResponse>,
): Promise<void> {
  if (!jobId) throw new InvalidArgumentError('job_id', 'required');
  if (!ctx.takeover) throw new UnavailableError(`coordinator ${ctx.id} is starting; re-attach again`);
  const adopted = await ctx.takeover.adoptForCaller(jobId);
  const send = (m: RunJobResponse): Promise<void> =>
    m.msg?.$case === 'accepted' ? Promise.resolve() : write(call, { response: m as WatchJobResponse });
  let started;
  try {
    started = await startJob(
      ctx,
      adopted.checkpoint.spec!,
      {
        send,
        signal: cctx.signal,
        afterBatch,
        ...(coalesce ? { coalesce: {} } : {}),
        ...(cctx.deadline ? { deadline: cctx.deadline } : {}),
      },
      adopted,
    );
  } catch (err) {
    ctx.owned?.delete(jobId);
    throw err;
  }
  await started.run();
}

async function* watch(
  ctx: CoordinatorContext,
  jobId: string,
  signal: AbortSignal,
): AsyncGenerator<CoordinatorServiceWatchJobResponse, void, undefined> {
  if (!jobId) throw new InvalidArgumentError('job_id', 'required');
  const handle = ctx.registry.get(jobId);
  if (!handle) {
    const job = await finishedJob(ctx, jobId);
    if (job.progress) yield { response: { msg: { $case: 'progress', progress: job.progress } } };
    if (ENDED_JOB_STATES.has(job.state)) yield { response: { msg: { $case: 'summary', summary: { job } } } };
    return;
  }
  // Only the latest progress is kept: a slow watcher gets fewer events, never a growing queue.
  let latest: JobProgress | undefined = handle.progress();
  let ended: Job | undefined;
  let wake: (() => void) | undefined;
  const onProgress = (p: JobProgress): void => {
    latest = p;
    wake?.();
  };
  const onEnd = (job: Job): void => {
    ended = job;
    wake?.();
  };
  const onAbort = (): void => wake?.();
  handle.on('progress', onProgress);
  handle.once('end', onEnd);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal.aborted) return;
      if (latest) {
        const p = latest;
        latest = undefined;
        yield { response: { msg: { $case: 'progress', progress: p } } };
        continue;
      }
      if (ended) {
        yield { response: { msg: { $case: 'summary', summary: { job: ended } } } };
        return;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    handle.off('progress', onProgress);
    handle.off('end', onEnd);
    signal.removeEventListener('abort', onAbort);
  }
}
