// One job from `start` to its summary: set up (flow, vars, init, source, sink), register, then run the
// driver with output going to the caller (or the file sink), progress every interval, aggregates and
// globals merged, `status` run, the sink committed, and the job recorded in config-store.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { JobState, RecordEncoding } from '@flowmesh/contracts';
import type { InputChunk, Job, JobAccepted, JobSpec, RecordsPart, RunJobResponse } from '@flowmesh/contracts';
import { finalizeAggregates, mergeAggregates, runStatus } from '@flowmesh/flow';
import type { AggregatePartial } from '@flowmesh/flow';
import { AbortedError, CancelledError, inSpan, SPOOL_ROOT, UnavailableError } from '@flowmesh/runtime';
import type { MeshMetrics } from '@flowmesh/runtime';
import type { Logger } from 'pino';
import type { AttemptRunner } from './attempt-runner.js';
import { DeposedError, type CheckpointStore, type StoredCheckpoint } from './checkpoint-store.js';
import { createCheckpointWriter, initialCheckpoint, type CheckpointWriter } from './checkpoint-writer.js';
import type { ConfigPort } from './config-port.js';
import { createJobDriver, type BatchOutput, type BatchSource, type DriverOutcome } from './job-driver.js';
import { jobRecord, type JobRecordInput } from './job-record.js';
import type { JobHandle, JobRegistry } from './job-registry.js';
import type { Takeover } from './job-takeover.js';
import { prepareJob } from './job-setup.js';
import type { JobSettings } from './job-settings.js';
import { createLocalRunner } from './local-runner.js';
import { createBatchCoalescer, type CoalesceOptions } from './batch-coalescer.js';
import { createPartWindow } from './part-window.js';
import { spoolWorthIt } from './spool-threshold.js';
import { createSerialSender } from './serial-sender.js';
import { emptyCounts } from './progress.js';
import { createSlotLedger, type SlotLedger } from './slot-ledger.js';

export interface CoordinatorOptions {
  heartbeatTimeoutMs: number;
  noExecutorTimeoutMs: number;
  /** Speculative execution of slow batches (multiple 0: off). @default off */
  speculation?: { multiple: number; minAgeMs: number };
  /** Batches run at once inside the coordinator in local mode. */
  localSlots: number;
  pluginDir?: string;
  /** How often a running job's record is refreshed in config-store. */
  recordEveryMs: number;
  /** Reorder window in batches (0: twice maxInstances). */
  reorderWindow: number;
  /** At most one checkpoint write per this many ms while batches complete. @default 500 */
  checkpointEveryMs?: number;
  /**
   * A new job streaming its results to a caller creates its checkpoint and its running record only once it
   * plans a second batch or has run this long (0: at start). @default 100
   */
  checkpointAfterMs?: number;
}

export interface CoordinatorContext {
  id: string;
  config: ConfigPort;
  ledger: SlotLedger;
  remote: AttemptRunner;
  registry: JobRegistry;
  logger: Logger;
  options: CoordinatorOptions;
  /** Job, batch and record metrics (issue 8). @default none */
  metrics?: MeshMetrics;
  /** Checkpoints in config-store (issue 6): without them no job can be taken over. @default none */
  checkpoints?: CheckpointStore;
  /** Jobs whose checkpoint this coordinator owns (the takeover sweep leaves them alone). */
  owned?: Set<string>;
  /** Takeover of jobs whose coordinator is gone (set once the coordinator is registered). */
  takeover?: Takeover;
}

export interface JobIo {
  /** Writes to the caller with backpressure; absent for a detached job (SubmitJob). */
  send?: (msg: RunJobResponse) => Promise<void>;
  /** The caller's input messages (burst mode). */
  input?: AsyncIterator<InputChunk | 'end'>;
  /** The caller's call: when it ends, the job is cancelled. */
  signal?: AbortSignal;
  /** The caller's deadline, carried to every executor call. */
  deadline?: Date;
  /** A caller re-attaching to a taken-over job (WatchJob resume_results): it has every batch up to this one. */
  afterBatch?: number;
  /**
   * The caller's result spool (issue 7, direct result path): its id and this call's directory in it
   * (relative). Executors advertising the same spool id write a batch's records there as a part, and the
   * caller is sent only its metadata through `sendPart`; the others stream records as before.
   */
  spool?: { id: string; dir: string };
  /** Sends the caller one accepted batch's records part (with `spool`), in the records' place. */
  sendPart?: (part: RecordsPart) => Promise<void>;
  /** The caller's confirmations that it has sent a part on (batch indices); read only for a job reading a file. */
  partsSent?: () => AsyncIterable<number>;
  /**
   * The caller takes small batches several to a `coalesced` message (JobSpec / WatchJobRequest
   * `coalesce_batches`, issue 7 target 4): how long and how much to hold. Absent: one message per chunk.
   */
  coalesce?: CoalesceOptions;
}

/** Records parts a caller may have unconfirmed: enough to keep its reads going, few enough to bound the spool. */
const PART_WINDOW = 4;

export interface StartedJob {
  accepted: JobAccepted;
  /** Runs the job to its end; resolves with the final record, rejects with a typed error naming the job. */
  run(): Promise<Job>;
}

const DEFAULT_PROGRESS_MS = 250;

/**
 * Starts a job: a new one, or (`resume`) one taken over from a dead coordinator — the checkpoint this
 * coordinator won by compare-and-set, naming it and the raised epoch.
 */
export async function startJob(
  ctx: CoordinatorContext,
  spec: JobSpec,
  io: JobIo,
  resume?: StoredCheckpoint,
): Promise<StartedJob> {
  const jobId = spec.jobId || randomUUID();
  if (ctx.registry.get(jobId)) throw new AbortedError(`job ${jobId} is already running on this coordinator`);
  const cp = resume?.checkpoint;
  const epoch = cp?.epoch ?? 1;
  const createdAt = cp?.createdAt ?? new Date();
  // A cluster smaller than the remote bias, or `mode: local`, runs the microbatches here.
  const runsHere = (s: JobSettings): boolean => s.mode === 'local' || ctx.ledger.executors().length < s.remoteBias;
  // The slots a file's batches are planned for (its last batches shrink so they finish together): those of
  // the cluster now, at most maxInstances; a taken-over job keeps the number its plan was made with, and a
  // job the gateway runs again (its coordinator lost before a checkpoint) the number its first run reported
  // in `accepted` — the ranges must be the same for the gateway to drop by batch what the caller already has.
  let planSlots = cp?.planSlots ?? 0;
  const prepared = await prepareJob(ctx.config, jobId, spec, {
    ...(ctx.options.pluginDir !== undefined ? { pluginDir: ctx.options.pluginDir } : {}),
    ...(io.input ? { input: io.input } : {}),
    epoch,
    planSlots: (s) =>
      cp
        ? cp.planSlots
        : (planSlots =
            spec.planSlots > 0
              ? spec.planSlots
              : Math.min(s.maxInstances, runsHere(s) ? ctx.options.localSlots : ctx.ledger.executors().reduce((n, e) => n + e.slots, 0))),
  });
  const { settings, spec: flow } = prepared;
  const log = ctx.logger.child({ jobId, flow: prepared.flowName, flowRevision: prepared.flowRevision });

  const local = runsHere(settings);
  const ledger = local
    ? createSlotLedger([
        { id: `${ctx.id}/local`, address: 'local', slots: ctx.options.localSlots, fileRoots: [], load: 0 },
      ])
    : ctx.ledger;
  let runner: AttemptRunner;
  try {
    runner = local
      ? createLocalRunner({
          compiled: await prepared.compileAll(),
          format: flow.source.format,
          readBytes: (o, l) => prepared.source.read(o, l),
        })
      : ctx.remote;
  } catch (err) {
    await prepared.source.close?.();
    await prepared.sink?.abort();
    throw err;
  }
  const aggregateSpec = flow.aggregate;
  const merge = aggregateSpec
    ? (a: unknown, b: unknown) => mergeAggregates(aggregateSpec, a as AggregatePartial, b as AggregatePartial)
    : undefined;

  // Failover (issue 6): a job reading a file is checkpointed and can be taken over (streamed input cannot
  // be read again). A file sink's temp files are named by the epoch; a streamed result is resumed by its
  // caller re-attaching (WatchJob resume_results), which names the last batch it has.
  const sink = prepared.sink;
  const resumable =
    ctx.checkpoints !== undefined &&
    prepared.source.file !== undefined &&
    (sink !== undefined || io.send !== undefined);
  const delivered = (index: number): boolean => io.afterBatch !== undefined && index <= io.afterBatch;
  // Issue 7: a new job streaming to its caller is anchored (checkpoint created, running record written) only
  // once it plans a second batch or has run `checkpointAfterMs`, so a one-batch job that ends sooner writes
  // just its final record (two config-store writes and a removal less: ~5 ms of CPU per job across
  // processes). If its coordinator dies before, the caller's gateway finds no checkpoint and runs the job
  // again on another coordinator under the same id, dropping what it already relayed — which is what a
  // takeover of a job with nothing done does too.
  const anchorAfterMs = ctx.options.checkpointAfterMs ?? 100;
  const deferAnchor = resumable && !resume && !sink && anchorAfterMs > 0;
  // Parts carry JSONL bytes; JSON-text chunks (and a file sink's own parts) keep their paths.
  // Streamed input keeps the records path: the caller's messages are its input, not part confirmations.
  const spool =
    !sink &&
    io.send &&
    io.sendPart &&
    io.partsSent &&
    prepared.source.file !== undefined &&
    spec.encoding !== RecordEncoding.RECORD_ENCODING_JSON_TEXT
      ? io.spool
      : undefined;
  let deposed: string | undefined;
  let writer: CheckpointWriter | undefined;
  let alreadyCommitted = false;
  if (resumable) {
    try {
      if (cp && sink) {
        // The old owner may have renamed the output into place and died before recording the job.
        alreadyCommitted = cp.committing && (await sink.committedBy(Number(cp.sinkEpoch)));
        if (!alreadyCommitted)
          await sink.restore(Number(cp.sinkEpoch), Number(cp.outputBytes), Number(cp.rejectsBytes));
      }
    } catch (err) {
      await prepared.source.close?.();
      await sink?.abort();
      throw err;
    }
    const base =
      cp ??
      initialCheckpoint({
        jobId,
        owner: ctx.id,
        spec: { ...spec, jobId },
        globals: prepared.globals,
        createdAt,
        streamResults: !sink,
        planSlots,
      });
    writer = createCheckpointWriter(
      {
        store: ctx.checkpoints!,
        owner: ctx.id,
        logger: log,
        everyMs: ctx.options.checkpointEveryMs ?? 500,
        ...(merge ? { mergeAggregates: merge } : {}),
        ...(sink ? { syncSink: () => sink.sync(), sinkLengths: () => sink.lengths() } : {}),
        onDeposed: (reason) => {
          deposed = reason;
          driver.cancel(`taken over: ${reason}`);
        },
      },
      base,
      // A new job's first checkpoint is written beside its first batches, off the latency path (or later).
      resume
        ? resume.revision
        : deferAnchor
          ? () => ctx.checkpoints!.put(base, 0, ctx.id)
          : ctx.checkpoints!.put(base, 0, ctx.id),
    );
    ctx.owned?.add(jobId);
  }

  const driver = createJobDriver(
    {
      ledger,
      runner,
      logger: log,
      // A local batch runs on this thread and cannot go silent the way a remote executor can.
      heartbeatTimeoutMs: local ? 0 : ctx.options.heartbeatTimeoutMs,
      noExecutorTimeoutMs: ctx.options.noExecutorTimeoutMs,
      ...(ctx.metrics ? { metrics: ctx.metrics } : {}),
      ...(ctx.options.reorderWindow > 0 ? { reorderWindow: ctx.options.reorderWindow } : {}),
      ...(io.deadline ? { deadline: io.deadline } : {}),
      // Local batches share one process: a backup there would only compete with the slow one.
      ...(!local && ctx.options.speculation ? { speculation: ctx.options.speculation } : {}),
    },
    {
      jobId,
      epoch,
      flow: prepared.flowName,
      flowRevision: prepared.flowRevision,
      flowSource: prepared.flowSource,
      vars: prepared.vars,
      format: prepared.format,
      encoding: prepared.sink ? 0 : spec.encoding,
      includeRejects: spec.includeRejects || prepared.sink !== undefined,
      // Executors that see the sink's root write their output parts there; only counts come back.
      ...(prepared.sink?.parts
        ? {
            outputPart: (at: { index: number; attempt: number; epoch: number }, executor: { fileRoots: string[] }) =>
              executor.fileRoots.includes(prepared.sink!.parts!.root) ? prepared.sink!.parts!.partFor(at) : undefined,
          }
        : spool
          ? {
              // Per batch: only an executor writing into the caller's own spool gets a part (fencing by the
              // epoch and attempt in the name, like a sink's parts).
              outputPart: (
                at: { index: number; attempt: number; epoch: number; bytes: number },
                executor: { spool?: string },
              ) =>
                executor.spool === spool.id && spoolWorthIt(at.bytes)
                  ? { root: SPOOL_ROOT, path: `${spool.dir}/b${at.index}-e${at.epoch}-a${at.attempt}.jsonl` }
                  : undefined,
            }
          : {}),
      maxInstances: settings.maxInstances,
      order: settings.order,
      retries: settings.retries,
      globals: cp?.globals ?? prepared.globals,
      ...(merge ? { mergeAggregates: merge } : {}),
      ...(cp && writer
        ? {
            resume: {
              // A file sink holds exactly the checkpointed batches; a caller holds what it says it has.
              done: (index: number) => alreadyCommitted || (writer!.isDone(index) && (!!sink || delivered(index))),
              counted: (index: number) => writer!.isDone(index),
              counts: cp.counts ?? emptyCounts(),
              bytesDone: Number(cp.bytesDone),
              aggregate: cp.aggregates,
            },
          }
        : {}),
    },
  );

  const record = (patch: Partial<JobRecordInput>): Job =>
    jobRecord({
      id: jobId,
      flow: prepared.flowName,
      flowRevision: prepared.flowRevision,
      vars: prepared.vars,
      coordinatorId: ctx.id,
      submittedBy: spec.submittedBy,
      createdAt,
      state: JobState.JOB_STATE_RUNNING,
      ...patch,
    });

  const accepted: JobAccepted = {
    jobId,
    flow: prepared.flowName,
    flowRevision: prepared.flowRevision,
    coordinatorId: ctx.id,
    planSlots,
  };
  /** The final record is written: the checkpoint may go. */
  let recorded = false;
  let finish!: (job: Job) => void;
  const done = new Promise<Job>((resolve) => (finish = resolve));
  const handle = Object.assign(new EventEmitter(), {
    id: jobId,
    accepted,
    cancel: (reason: string) => driver.cancel(reason),
    progress: () => driver.progress(JobState.JOB_STATE_RUNNING),
    load: () => driver.load(),
    done,
  }) satisfies JobHandle;
  try {
    ctx.registry.add(handle);
  } catch (err) {
    writer?.close();
    ctx.owned?.delete(jobId);
    await prepared.source.close?.();
    await prepared.sink?.abort();
    throw err;
  }

  // One span per job (a child of the RunJob call's span): every batch attempt span hangs below it.
  function run(): Promise<Job> {
    ctx.metrics?.job('started');
    const attributes = {
      'flowmesh.job.id': jobId,
      'flowmesh.flow': prepared.flowName,
      'flowmesh.flow.revision': prepared.flowRevision,
      'flowmesh.job.local': local,
    };
    return inSpan('flowmesh.job', attributes, async (span) => {
      try {
        const job = await runJob();
        const c = job.progress?.counts;
        span.setAttributes({
          'flowmesh.records.in': c?.recordsIn ?? 0,
          'flowmesh.records.out': c?.recordsOut ?? 0,
          'flowmesh.records.rejected': c?.recordsRejected ?? 0,
          'flowmesh.batches.done': job.progress?.batchesDone ?? 0,
        });
        ctx.metrics?.job('succeeded');
        return job;
      } catch (err) {
        ctx.metrics?.job(err instanceof CancelledError ? 'cancelled' : 'failed');
        throw err;
      }
    });
  }

  async function runJob(): Promise<Job> {
    const startedAt = new Date();
    const send = io.send;
    let partsSent = 0;
    const partWindow = spool ? createPartWindow(PART_WINDOW) : undefined;
    if (partWindow) {
      void (async () => {
        for await (const _ of io.partsSent!()) partWindow.release();
      })().catch(() => undefined); // the call ended: the job ends with it
    }
    const serial = send
      ? createSerialSender<RunJobResponse | { part: RecordsPart }>(
          (m) => ('part' in m ? io.sendPart!(m.part) : send(m)),
          () => driver.cancel('the caller stopped reading'),
        )
      : undefined;
    // A records part waits for room in the part window first (issue 7: the spool's bound).
    const sender = serial && {
      trySend: (m: RunJobResponse) => serial.trySend(m),
      async send(m: RunJobResponse | { part: RecordsPart }): Promise<void> {
        if ('part' in m) {
          await partWindow!.acquire(io.signal);
          partsSent++;
        }
        await serial.send(m);
      },
    };
    const coalescer =
      sender && io.coalesce
        ? createBatchCoalescer(
            jobId,
            (m) => sender.send(m),
            () => driver.cancel('the caller stopped reading'),
            io.coalesce,
          )
        : undefined;
    const onCallerGone = (): void => driver.cancel('the caller hung up');
    io.signal?.addEventListener('abort', onCallerGone, { once: true });
    const progressMs = spec.progressIntervalMs || DEFAULT_PROGRESS_MS;
    let lastRecordAt = Date.now();
    let recording: Promise<void> | undefined;
    const tick = setInterval(() => {
      const p = driver.progress(JobState.JOB_STATE_RUNNING);
      handle.emit('progress', p);
      sender?.trySend({ msg: { $case: 'progress', progress: p } });
      if (!recording && Date.now() - lastRecordAt >= ctx.options.recordEveryMs) {
        lastRecordAt = Date.now();
        recording = ctx.config
          .putJob(record({ startedAt, progress: p, executors: driver.shares() }), ctx.id)
          .catch((err: unknown) => log.warn({ err }, 'job record refresh failed'))
          .finally(() => (recording = undefined));
      }
    }, progressMs);

    let partsAppended = 0;
    // The whole plan is one batch and the job is not anchored: its results wait for the final record's
    // write to be under way (finalize), so config-store gets the write before the gateway and the caller
    // are busy with the records, and its fsync overlaps their relay (issue 7).
    let onlyBatch = false;
    let held: Array<RunJobResponse | { part: RecordsPart }> | undefined;
    const output: BatchOutput = async (index, result, bytesCovered) => {
      if (sink) {
        const part = result.trailer.outputPart;
        if (part && sink.parts) {
          await sink.acceptPart(index, part, result.trailer.counts?.bytesOut ?? 0);
          partsAppended++;
        }
        for (const c of result.chunks)
          await sink.writeRecords(
            c.data.length > 0 || c.records.length === 0 ? c.data : Buffer.from(c.records.map((r) => `${r}\n`).join('')),
            index,
          );
        await sink.writeRejects(result.rejects);
        writer?.done(index, result, bytesCovered);
        return;
      }
      if (!sender) return; // detached job without a file sink: results are dropped (documented in job_service.proto)
      // Sent (and counted) by an earlier epoch only in part: count what is not counted, send what is not had.
      if (writer && !writer.isDone(index)) writer.done(index, result, bytesCovered);
      if (delivered(index)) return;
      const part = result.trailer.outputPart;
      // Held to go with other small batches (issue 7): only a batch without a part or rejects to send, so a
      // coalesced batch is whole by itself; the lone batch of an unanchored job keeps its own path (held).
      const alone =
        (part && spool) || (spec.includeRejects && result.rejects.length > 0) || (onlyBatch && !writer?.anchored);
      if (coalescer && !alone && (await coalescer.add(index, result.chunks))) return;
      await coalescer?.flush();
      const messages: Array<RunJobResponse | { part: RecordsPart }> = result.chunks.map((c) => ({
        msg: { $case: 'records', records: { ...c, jobId } },
      }));
      if (part && spool) {
        // Only the part's name and what verifies it: the caller (gateway) reads, checks and removes it.
        const t = result.trailer;
        messages.unshift({
          part: {
            jobId,
            batchIndex: index,
            path: part.path,
            bytes: t.counts?.bytesOut ?? 0,
            records: t.counts?.recordsOut ?? 0,
            checksum: t.checksum,
            checksumAlgorithm: t.checksumAlgorithm,
            chunkBytes: t.partChunks?.bytes ?? [],
            chunkRecords: t.partChunks?.records ?? [],
          },
        });
      }
      if (spec.includeRejects && result.rejects.length > 0)
        messages.push({ msg: { $case: 'rejects', rejects: { jobId, batchIndex: index, rejects: result.rejects } } });
      if (onlyBatch && !writer?.anchored) {
        held = messages;
        return;
      }
      for (const m of messages) await sender.send(m);
    };
    const sendHeld = async (): Promise<void> => {
      const messages = held ?? [];
      held = undefined;
      // One turn of the event loop first: the put's call goes through a few promise steps (call credentials)
      // before it reaches the socket, and measured, records written ahead of it took that gain away.
      if (messages.length > 0) await new Promise((r) => setImmediate(r));
      for (const m of messages) await sender!.send(m);
    };

    // The running record is written while the first batches run (a config-store round trip off the
    // latency path, issue 7); as `recording`, no refresh overlaps it and the final record waits for it.
    const writeRunningRecord = (): void => {
      recording = ctx.config
        .putJob(record({ startedAt, progress: driver.progress(JobState.JOB_STATE_RUNNING) }), ctx.id)
        .catch((err: unknown) => {
          log.warn({ err }, 'job record (running) failed');
        })
        .finally(() => (recording = undefined));
    };
    // A job not yet anchored logs "job started" only once it is: a short one-batch job writes one line (its
    // "job ended" carries these fields), as it writes one record. Each line is a blocking write to stdout,
    // measured ~8% of the coordinator's CPU per 1,000-record job for the two (issue 7 target 3).
    const startFields = { local, maxInstances: settings.maxInstances, order: settings.order };
    let startLogged = false;
    const logStarted = (): void => {
      if (startLogged) return;
      startLogged = true;
      log.info(startFields, 'job started');
    };
    let anchorTimer: NodeJS.Timeout | undefined;
    let running = true;
    const anchor = (): void => {
      if (!running || !writer || writer.anchored) return;
      clearTimeout(anchorTimer);
      writer.anchor();
      logStarted();
      if (!recording) writeRunningRecord();
    };
    let source: BatchSource = prepared.source;
    if (deferAnchor) {
      anchorTimer = setTimeout(anchor, anchorAfterMs);
      // A second batch means results may reach the caller before the job ends: anchor it at once.
      let planned = 0;
      const s = prepared.source;
      source = {
        next: async () => {
          const b = await s.next();
          if (b && ++planned > 1) anchor();
          if (!b) onlyBatch = planned === 1;
          return b;
        },
        read: (offset, length) => s.read(offset, length),
        header: () => s.header(),
        get bytesTotal() {
          return s.bytesTotal;
        },
        ...(s.file ? { file: s.file } : {}),
      };
    }

    let outcome: DriverOutcome;
    let final: Job;
    try {
      if (!deferAnchor) writeRunningRecord();
      if (!deferAnchor) logStarted();
      outcome = await driver.run(source, output);
      // Held batches go before the summary; a job that did not succeed drops them (whole batches only).
      if (outcome.state === 'succeeded') await coalescer?.flush();
      else coalescer?.drop();
      running = false;
      clearTimeout(anchorTimer);
      clearInterval(tick);
      // The running record or a refresh may still be in flight (undefined once settled).
      await (recording as Promise<void> | undefined);
      final = await finalize(outcome, startedAt, sendHeld);
    } finally {
      coalescer?.drop();
      running = false;
      clearTimeout(anchorTimer);
      clearInterval(tick);
      io.signal?.removeEventListener('abort', onCallerGone);
      writer?.close();
      await prepared.source.close?.();
      ctx.registry.remove(jobId);
      ctx.owned?.delete(jobId);
    }
    if (deposed !== undefined) {
      // Another coordinator owns the job now: it records and commits it; this one only lets go.
      log.warn({ reason: deposed }, 'job handed over');
      finish(final);
      throw new UnavailableError(`job ${jobId} was taken over by another coordinator: ${deposed}`);
    }
    handle.emit('end', final);
    finish(final);
    try {
      if (outcome.state === 'succeeded') {
        if (sender) await sender.send({ msg: { $case: 'summary', summary: { job: final } } });
        return final;
      }
      if (outcome.state === 'cancelled') throw new CancelledError(`job ${jobId} cancelled: ${outcome.reason}`);
      if (outcome.failures.length === 0) throw new UnavailableError(`job ${jobId} failed: ${outcome.error}`);
      throw new AbortedError(`job ${jobId} failed: ${outcome.error}`);
    } finally {
      // After the summary (issue 7): the removal's round trip and this log line cost the coordinator ~1 ms of
      // CPU that delayed the summary, and the checkpoint kept until the summary is out means a caller that
      // loses the coordinator before it can still re-attach. A checkpoint left behind is removed by a sweep
      // that finds the job recorded as ended.
      if (recorded) void writer?.remove().catch((err: unknown) => log.warn({ err }, 'removing the checkpoint failed'));
      const endFields = {
        ...(startLogged ? {} : startFields),
        state: JobState[final.state],
        counts: final.progress?.counts,
        ...(sink ? { partsAppended } : {}),
        ...(spool ? { partsSent } : {}),
      };
      // A turn later: the summary written above leaves in http2's next flush (a native immediate), and the
      // line — a blocking stdout write with its serialization, ~0.2 ms — ran before that flush, on the
      // caller's path (issue 7 target 3). A JS immediate runs after the native ones of the same turn.
      setImmediate(() => log.info(endFields, 'job ended'));
    }
  }

  /** Records the job's end; `whileRecording` runs once the final record's write is under way. */
  async function finalize(
    outcome: DriverOutcome,
    startedAt: Date,
    whileRecording: () => Promise<void>,
  ): Promise<Job> {
    let globals = driver.globals();
    let aggregates: unknown;
    let error =
      outcome.state === 'failed' ? outcome.error : outcome.state === 'cancelled' ? `cancelled: ${outcome.reason}` : '';
    let files: Pick<JobRecordInput, 'output' | 'rejectsOutput'> = {};
    if (outcome.state === 'succeeded') {
      try {
        if (aggregateSpec)
          aggregates = finalizeAggregates(aggregateSpec, driver.aggregates() as AggregatePartial | undefined);
        const p = driver.progress(JobState.JOB_STATE_RUNNING).counts;
        const counts = {
          in: p?.recordsIn ?? 0,
          out: p?.recordsOut ?? 0,
          rejected: p?.recordsRejected ?? 0,
          filtered: p?.recordsFiltered ?? 0,
        };
        const status = await runStatus(prepared.compiled, {
          vars: prepared.vars,
          globals,
          counts,
          ...(Array.isArray(aggregates) ? { aggregates } : {}),
        });
        globals = status.globals;
        if (prepared.sink) {
          // Fenced by the epoch: only the owner whose CAS still holds may rename the output into place.
          await writer?.flush({ committing: true });
          const committed = alreadyCommitted ? prepared.sink.target() : await prepared.sink.commit();
          // Committed by the previous owner: only this epoch's empty temp files are left to remove.
          if (alreadyCommitted) await prepared.sink.abort();
          files = { output: committed.output, rejectsOutput: committed.rejects };
        }
      } catch (err) {
        if (err instanceof DeposedError || deposed !== undefined) {
          deposed ??= err instanceof Error ? err.message : String(err);
          return record({ state: JobState.JOB_STATE_RUNNING });
        }
        outcome = { state: 'failed', error: `finishing the job failed: ${(err as Error).message}`, failures: [] };
        error = outcome.state === 'failed' ? outcome.error : error;
      }
    }
    if (deposed !== undefined) return record({ state: JobState.JOB_STATE_RUNNING });
    if (outcome.state !== 'succeeded') await prepared.sink?.abort();
    const finalState =
      outcome.state === 'succeeded'
        ? JobState.JOB_STATE_SUCCEEDED
        : outcome.state === 'cancelled'
          ? JobState.JOB_STATE_CANCELLED
          : JobState.JOB_STATE_FAILED;
    const job = record({
      state: finalState,
      startedAt,
      finishedAt: new Date(),
      progress: driver.progress(finalState),
      error,
      failures: outcome.state === 'failed' ? outcome.failures : [],
      executors: driver.shares(),
      aggregates,
      globals,
      ...files,
    });
    const writing = putWithRetry(ctx.config, job, ctx.id, log);
    try {
      await whileRecording();
    } finally {
      await writing;
    }
    // The record is the job's truth from now on: no coordinator may take it over any more; the checkpoint
    // is removed once the caller has the summary (runJob).
    recorded = true;
    return job;
  }

  return { accepted, run };
}

/** The final record matters (GetJob, the CLI summary): a few tries before giving up with a log line. */
async function putWithRetry(config: ConfigPort, job: Job, actor: string, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await config.putJob(job, actor);
      return;
    } catch (err) {
      if (attempt >= 3) {
        log.error({ err }, 'recording the finished job failed');
        return;
      }
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}
