// JobService.RunJob through the gateway (issue 5): authenticate, admit (per-key limit), pick a coordinator
// and fail over while the job has not started, then relay both directions with end-to-end backpressure:
// the coordinator's stream is read only as fast as the caller drains (one message at a time, pull-based),
// so a slow client slows the job instead of growing memory. A caller that hangs up cancels the job; a
// coordinator that dies mid-job gives UNAVAILABLE naming the job; a stream without `summary` is an error.
import { Metadata, status, type ClientDuplexStream, type ServerDuplexStream } from '@grpc/grpc-js';
import type {
  CoordinatorServiceRunJobRequest,
  CoordinatorServiceRunJobResponse,
  JobSpec,
  RecordsPart,
  RunJobRequest,
  RunJobResponse,
} from '@flowmesh/contracts';
import { JobState } from '@flowmesh/contracts';
import {
  CancelledError,
  DataLossError,
  InvalidArgumentError,
  UnavailableError,
  write,
  type CallContext,
  type MeshMetrics,
} from '@flowmesh/runtime';
import type { Guard } from '../access/guard.js';
import type { Identity } from '../access/authenticator.js';
import { admitJob, type JobLimiter } from '../limits/job-limiter.js';
import type { CoordinatorPicker, CoordinatorCandidate } from '../routing/coordinator-picker.js';
import type { CoordinatorDirectory } from '../downstream/coordinator-directory.js';
import { ForwardedError } from '../downstream/forwarded-error.js';
import { grpcCode, unaryCall } from '../downstream/unary-call.js';
import { messageReader, type MessageReader } from '../downstream/message-reader.js';
import type { CallSpool, ResultSpool } from '../spool/result-spool.js';
import { callerSharesSpool, createLocalHandoff, type LocalHandoff } from '../spool/local-handoff.js';
import { callerSpec } from './caller-spec.js';

export interface RunJobDeps {
  guard: Guard;
  limiter: JobLimiter;
  picker: CoordinatorPicker;
  directory: CoordinatorDirectory;
  /** Coordinators tried before giving up on starting a job. @default 3 */
  maxStartAttempts?: number;
  /** How long a coordinator may take to accept a job before the next is tried. @default 15000 */
  acceptTimeoutMs?: number;
  /** Budget of the CancelJob sent when the caller hangs up. @default 5000 */
  cancelTimeoutMs?: number;
  /** Jobs relayed and their records, by the summaries that pass through (issue 8). @default none */
  metrics?: MeshMetrics;
  /**
   * True when config-store holds neither a checkpoint nor an end record of the job (issue 7). A coordinator
   * writes no checkpoint for a one-batch job that ends within ~100 ms; when such a job loses its
   * coordinator, the gateway runs it again on another one (same id, what was already relayed dropped)
   * instead of answering UNAVAILABLE, since no coordinator could take it over. A job recorded as ended
   * (cancelled, failed, or succeeded before its coordinator died) is not run again. Rejects when the store
   * cannot say (then: UNAVAILABLE, as before). @default none: a lost coordinator is always UNAVAILABLE
   */
  unanchored?: (jobId: string, ctx: CallContext) => Promise<boolean>;
  /** Runs of one job again after lost coordinators (see unanchored). @default 2 */
  maxRestarts?: number;
  /** The result spool shared with executors on this machine (issue 7, direct result path). @default none */
  spool?: ResultSpool;
  /**
   * How long a job that ended or failed waits for a local caller (local-handoff.ts) to ack the parts it was sent
   * before its call, and the call's spool directory with them, is closed. @default 60000
   */
  localSettleTimeoutMs?: number;
}

type Down = ClientDuplexStream<CoordinatorServiceRunJobRequest, CoordinatorServiceRunJobResponse>;

interface Started {
  down: Down;
  responses: AsyncIterator<CoordinatorServiceRunJobResponse>;
  coordinator: CoordinatorCandidate;
  first: RunJobResponse;
}

/** Codes that mean "the coordinator went away", as opposed to an answer about the job. */
const LOST = new Set<status>([status.UNAVAILABLE, status.CANCELLED, status.INTERNAL, status.UNKNOWN]);

/** The job's coordinator went away mid-job (one of the LOST codes, which `lostWith` names). */
class CoordinatorLostError extends UnavailableError {
  constructor(
    message: string,
    /** The status the coordinator's stream ended with (this error itself is UNAVAILABLE). */
    readonly lostWith: status,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Result messages relayed so far, so a job run again after a lost coordinator sends the caller only what it
 * lacks: records by (batch, chunk seq), rejects by (batch, first line) — planning and chunking are
 * deterministic (the same rule the client's re-attach relies on). Bounded: past `limit` keys it stops
 * tracking and the job is no longer run again (a job that relayed that much has long been checkpointed).
 */
function relayedResults(limit = 10_000) {
  const keys = new Set<string>();
  let full = false;
  const keyOf = (m: RunJobResponse): string | undefined =>
    m.msg?.$case === 'records'
      ? `r${m.msg.records.batchIndex}/${m.msg.records.seq}`
      : m.msg?.$case === 'rejects'
        ? `j${m.msg.rejects.batchIndex}/${m.msg.rejects.rejects[0]?.line ?? 0}`
        : m.msg?.$case === 'localPart'
          ? `p${m.msg.localPart.batchIndex}`
          : m.msg?.$case === 'coalesced'
            ? `c${m.msg.coalesced.batchIndices.join(',')}`
            : undefined;
  return {
    /** Records a message about to be relayed; false when the caller already has it. */
    take(m: RunJobResponse): boolean {
      const k = keyOf(m);
      if (k === undefined || full) return true;
      if (keys.has(k)) return false;
      if (keys.size >= limit) {
        full = true;
        keys.clear();
      } else keys.add(k);
      return true;
    },
    get complete(): boolean {
      return !full;
    },
  };
}

export function createRunJobHandler(deps: RunJobDeps) {
  const maxAttempts = deps.maxStartAttempts ?? 3;
  const maxRestarts = deps.maxRestarts ?? 2;
  const acceptTimeoutMs = deps.acceptTimeoutMs ?? 15_000;
  const cancelTimeoutMs = deps.cancelTimeoutMs ?? 5_000;
  const settleTimeoutMs = deps.localSettleTimeoutMs ?? 60_000;

  return async function runJob(
    call: ServerDuplexStream<RunJobRequest, RunJobResponse>,
    ctx: CallContext,
  ): Promise<void> {
    const identity = await deps.guard.check(ctx.method, ctx.metadata, undefined, ctx.peer);
    const input = messageReader<RunJobRequest>(call);
    const first = await input.next();
    if (first?.msg?.$case !== 'start') {
      throw new InvalidArgumentError('msg', 'the first RunJob message must be `start` with the job spec');
    }
    const spec = callerSpec(first.msg.start, identity, 'start');
    const release = admitJob(deps.limiter, identity.keyId);
    // The call's spool directory lives exactly as long as the call: whatever executors wrote there for it
    // (sent, unsent, losing attempts) is removed when it ends.
    let spool: CallSpool | undefined;
    try {
      // Named now, made through the thread pool while the coordinator's call opens (result-spool.ts).
      const opened = deps.spool?.beginCall();
      spool = opened?.call;
      // A caller sharing the spool reads parts itself (local-handoff.ts); told where before any message.
      const local = spool && callerSharesSpool(deps.spool, ctx.metadata) ? createLocalHandoff(spool) : undefined;
      if (local) {
        const header = new Metadata();
        header.set(...local.header);
        call.sendMetadata(header);
      }
      const started = await startOnCoordinator(spec, ctx, spool, undefined, opened?.made);
      deps.metrics?.job('started');
      let failure: { err: unknown } | undefined;
      try {
        await relay(call, input, spec, started, identity, ctx, spool, local);
      } catch (err) {
        deps.metrics?.job(ctx.signal.aborted || err instanceof CancelledError ? 'cancelled' : 'failed');
        failure = { err };
      }
      // The caller may still be reading parts it was sent — the last ones after the summary, or those before
      // a failure (a coordinator gone: the caller re-attaches after what it acked): the directory stays until
      // they are acked, the call is cancelled, or the bound passes; the error goes out after that.
      await local?.settled(ctx.signal, settleTimeoutMs);
      if (failure) throw failure.err;
    } finally {
      release();
      await spool?.close();
    }
  };

  async function startOnCoordinator(
    spec: JobSpec,
    ctx: CallContext,
    spool: CallSpool | undefined,
    avoid?: string,
    spoolMade?: Promise<void>,
  ): Promise<Started> {
    const tried = new Set<string>(avoid !== undefined ? [avoid] : []);
    let lastError: unknown;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (ctx.signal.aborted) throw new CancelledError('the caller cancelled before the job started');
      const coordinator = deps.picker.pick(deps.directory.candidates(), tried);
      if (!coordinator) break;
      tried.add(coordinator.id);
      const metadata = deps.directory.metadata();
      for (const [key, value] of spool?.metadata ?? []) metadata.set(key, value);
      const down = deps.directory.client(coordinator.address).runJob(metadata, {
        deadline: ctx.deadline,
      });
      // Errors surface through the iterator; this listener only keeps an abandoned attempt from crashing us.
      down.on('error', () => {});
      const responses = down[Symbol.asyncIterator]() as AsyncIterator<CoordinatorServiceRunJobResponse>;
      // The call opens (both sides set it up) while the spool directory is made; the start goes once it
      // exists, so no executor can look for it before (they never create it).
      if (spoolMade) {
        try {
          await spoolMade;
        } catch (err) {
          down.cancel();
          throw err;
        }
      }
      down.write({ request: { msg: { $case: 'start', start: spec } } });
      const onAbort = (): void => down.cancel();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new UnavailableError(
                  `coordinator ${coordinator.id} did not accept the job within ${acceptTimeoutMs} ms`,
                ),
              ),
            acceptTimeoutMs,
          );
        });
        const r = await Promise.race([responses.next(), timeout]);
        if (r.done || !r.value.response)
          throw new UnavailableError(`coordinator ${coordinator.id} closed the stream before accepting the job`);
        return { down, responses, coordinator, first: r.value.response };
      } catch (err) {
        down.cancel();
        const code = err instanceof UnavailableError ? status.UNAVAILABLE : grpcCode(err);
        // Only "could not reach it" is retried elsewhere; a refusal (bad flow, bad vars) is the answer.
        if (code !== status.UNAVAILABLE || ctx.signal.aborted) throw err;
        deps.picker.markSuspect(coordinator.id);
        lastError = err;
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      }
    }
    const why = lastError instanceof Error ? `: ${lastError.message}` : '';
    throw new UnavailableError(
      tried.size === 0
        ? 'no coordinator is available; is the mesh running?'
        : `no coordinator could take the job (tried ${[...tried].join(', ')})${why}`,
    );
  }

  async function relay(
    call: ServerDuplexStream<RunJobRequest, RunJobResponse>,
    input: MessageReader<RunJobRequest>,
    spec: JobSpec,
    started: Started,
    identity: Identity,
    ctx: CallContext,
    spool: CallSpool | undefined,
    local: LocalHandoff | undefined,
  ): Promise<void> {
    let { down, responses, coordinator } = started;
    const { first } = started;
    let jobId = first.msg?.$case === 'accepted' ? first.msg.accepted.jobId : '';
    // What the first run was planned with: a run again uses the same flow revision and slots, so its batches
    // are the same ranges of the same records and what the caller has can be dropped by batch and chunk.
    const firstRun = first.msg?.$case === 'accepted' ? first.msg.accepted : undefined;
    let finished = false;
    let restarts = 0;
    const relayed = relayedResults();
    deps.picker.started(coordinator.id);
    // A caller that goes away cancels the stream and, to be sure, the job itself on its coordinator.
    const cancelJob = (reason: string): Promise<unknown> =>
      unaryCall(
        deps.directory.client(coordinator.address).cancelJob.bind(deps.directory.client(coordinator.address)),
        { jobId, reason, actor: identity.user },
        { timeoutMs: cancelTimeoutMs, metadata: deps.directory.metadata() },
      ).catch(() => {
        // The stream cancel already told the coordinator; this is the belt to its braces.
      });
    const onAbort = (): void => {
      down.cancel();
      if (!finished && jobId) void cancelJob('the caller hung up');
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const pumped = { any: false, ended: false };
    /**
     * The coordinator was lost mid-job: a job it never checkpointed (a short one-batch job) runs again on
     * another coordinator under the same id — unless the caller streamed input (it cannot be sent again).
     */
    const runAgain = async (err: unknown): Promise<Started | undefined> => {
      if (!(err instanceof CoordinatorLostError) || !deps.unanchored || !jobId || ctx.signal.aborted) return;
      // CANCELLED from the coordinator is the job being cancelled (CancelJob), not the coordinator going away.
      if (err.lostWith === status.CANCELLED || restarts >= maxRestarts || pumped.any || !relayed.complete) return;
      const unanchored = await deps.unanchored(jobId, ctx).catch(() => false);
      if (!unanchored || ctx.signal.aborted) return;
      restarts++;
      deps.picker.markSuspect(coordinator.id);
      down.cancel();
      const again: JobSpec = {
        ...spec,
        jobId,
        ...(firstRun ? { flowRevision: firstRun.flowRevision, planSlots: firstRun.planSlots } : {}),
      };
      const next = await startOnCoordinator(again, ctx, spool, coordinator.id).catch(() => undefined);
      if (!next) return;
      deps.picker.finished(coordinator.id);
      deps.picker.started(next.coordinator.id);
      if (pumped.ended) endUpstream(next.down, !spool);
      return next;
    };
    const pump = pumpInput(input, () => down, ctx.signal, pumped, !spool, local);
    // A batch whose records wait in the spool: read and verified whole before its first chunk is sent.
    const sendPart = async (part: RecordsPart): Promise<void> => {
      if (!spool)
        throw new DataLossError(
          `job ${jobId}: coordinator ${coordinator.id} sent a records part to a call without a spool`,
        );
      // Confirms the part to the coordinator that sent it (not to one that took over since: its own window).
      const from = down;
      const confirm = (): void => {
        if (from === down && !finished) down.write({ request: undefined, partSent: { batchIndex: part.batchIndex } });
      };
      if (local) {
        let message: RunJobResponse;
        try {
          message = { msg: { $case: 'localPart', localPart: local.offer(part, confirm) } };
        } catch (err) {
          await cancelJob(`the gateway refused batch ${part.batchIndex}'s records: ${(err as Error).message}`);
          throw err;
        }
        // Confirmed when the caller acks it (pumpInput), so the caller's pace bounds the spool.
        if (relayed.take(message)) await write(call, message);
        else local.drop(part, confirm);
        return;
      }
      let chunks;
      try {
        chunks = await spool.read(part);
      } catch (err) {
        // Nothing of the batch has reached the caller; the job ends (cancelled, naming why) with this error.
        await cancelJob(`the gateway refused batch ${part.batchIndex}'s records: ${(err as Error).message}`);
        throw err;
      }
      for (const records of chunks) {
        const message: RunJobResponse = { msg: { $case: 'records', records } };
        if (relayed.take(message)) await write(call, message);
      }
      // The coordinator keeps only a few parts unconfirmed (the spool's bound). One small message per part,
      // at most that many in flight: no drain to wait for.
      confirm();
    };
    try {
      let message: RunJobResponse | undefined = first;
      while (message) {
        if (!jobId && message.msg?.$case === 'accepted') jobId = message.msg.accepted.jobId;
        if (message.msg?.$case === 'summary') {
          finished = true;
          countSummary(deps.metrics, message.msg.summary.job);
        }
        // A run again: its `accepted` and what the caller already has are not sent twice.
        const repeat = restarts > 0 && message.msg?.$case === 'accepted';
        if (!repeat && relayed.take(message)) await write(call, message);
        if (finished) break;
        try {
          message = undefined;
          for (;;) {
            const next = await nextResponse(responses, jobId, coordinator, ctx);
            if (!next?.recordsPart) {
              message = next?.response;
              break;
            }
            await sendPart(next.recordsPart);
          }
        } catch (err) {
          const again = await runAgain(err);
          if (!again) throw err;
          ({ down, responses, coordinator } = again);
          message = again.first;
        }
      }
      if (!finished) {
        throw new UnavailableError(
          `job ${jobId || '(not yet accepted)'}: coordinator ${coordinator.id} ended the stream before the job finished; the results are incomplete (GetJob ${jobId} shows its state)`,
        );
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      deps.picker.finished(coordinator.id);
      if (!finished) down.cancel();
      else down.end();
      // Not awaited: a caller may keep its side open after the summary; its reads end with the call.
      pump.catch(() => {});
    }
  }

  async function nextResponse(
    responses: AsyncIterator<CoordinatorServiceRunJobResponse>,
    jobId: string,
    coordinator: CoordinatorCandidate,
    ctx: CallContext,
  ): Promise<CoordinatorServiceRunJobResponse | undefined> {
    try {
      const r = await responses.next();
      return r.done ? undefined : r.value;
    } catch (err) {
      if (ctx.signal.aborted) throw new CancelledError(`job ${jobId}: cancelled by the caller`);
      const code = grpcCode(err) ?? status.UNKNOWN;
      const details = (err as { details?: string }).details ?? (err as Error).message;
      if (LOST.has(code)) {
        throw new CoordinatorLostError(
          `job ${jobId}: coordinator ${coordinator.id} became unavailable mid-job (${details}); the results are incomplete`,
          code,
          { cause: err },
        );
      }
      throw new ForwardedError(code, details.includes(jobId) ? details : `job ${jobId}: ${details}`, { cause: err });
    }
  }
}

/**
 * Client → coordinator (the one running the job now): input chunks, end of input and acks, each write
 * awaiting drain; a local hand-off's acks stay here (they confirm parts). With a spool the upstream stays open after the caller half-closes (it carries part
 * confirmations until the job ends): see endUpstream.
 */
async function pumpInput(
  input: MessageReader<RunJobRequest>,
  target: () => Down,
  signal: AbortSignal,
  pumped: { any: boolean; ended: boolean },
  endWithCaller: boolean,
  local: LocalHandoff | undefined,
): Promise<void> {
  for (;;) {
    const r = await input.next();
    if (!r || signal.aborted) break;
    if (r.msg?.$case === 'start') continue; // one job per call; a second start is ignored
    if (local && r.msg?.$case === 'ack') {
      local.ack(r.msg.ack.batchIndex);
      continue;
    }
    if (r.msg?.$case === 'input' || r.msg?.$case === 'endInput') pumped.any = true;
    const down = target();
    if (!down.write({ request: r })) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          down.off('drain', done);
          down.off('close', done);
          resolve();
        };
        down.on('drain', done);
        down.on('close', done);
      });
    }
  }
  pumped.ended = true;
  if (!signal.aborted) endUpstream(target(), endWithCaller);
}

/** The caller half-closed: so does the upstream, or (spool) it says `end_input`, which a job reading streamed input takes the same way. */
function endUpstream(down: Down, endWithCaller: boolean): void {
  // After the summary the relay has ended the upstream already: a write then would only build (and stack-trace,
  // with source maps: ~0.3 ms of CPU per job, issue 7 target 3) an ERR_STREAM_WRITE_AFTER_END error.
  if (down.writableEnded || down.destroyed) return;
  if (endWithCaller) down.end();
  else down.write({ request: { msg: { $case: 'endInput', endInput: {} } } });
}

/** A relayed job's end: its outcome and record counts (the summary comes only once per job). */
function countSummary(
  metrics: MeshMetrics | undefined,
  job:
    | {
        state: JobState;
        progress?:
          { counts?: { recordsIn: number; recordsOut: number; recordsRejected: number } | undefined } | undefined;
      }
    | undefined,
): void {
  if (!metrics || !job) return;
  metrics.job(
    job.state === JobState.JOB_STATE_SUCCEEDED
      ? 'succeeded'
      : job.state === JobState.JOB_STATE_CANCELLED
        ? 'cancelled'
        : 'failed',
  );
  const c = job.progress?.counts;
  if (c) metrics.records({ in: c.recordsIn, out: c.recordsOut, rejected: c.recordsRejected });
}
