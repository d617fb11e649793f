// One batch attempt (proto/flowmesh/v1/executor_service.proto), whatever carries it: an ExecuteBatch call of
// its own, or a tag on a coordinator's ExecuteBatches stream (execute-batches.ts).
// assign → checks (fencing, slot) → bytes (pread or inline) → `started` → records chunks and heartbeats
// while a worker thread runs the microflow → rejects → trailer. A cancel or deadline aborts the worker.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { RecordEncoding } from '@flowmesh/contracts';
import type {
  BatchAssignment,
  BatchTrailer,
  ExecuteBatchRequest,
  ExecuteBatchResponse,
  FileRef,
  Reject,
} from '@flowmesh/contracts';
import {
  batchAttemptAttributes,
  batchCountsAttributes,
  CancelledError,
  FailedPreconditionError,
  InvalidArgumentError,
  UnavailableError,
  inSpan,
  SPOOL_ROOT,
  tracingActive,
  withContext,
  write,
} from '@flowmesh/runtime';
import type { CallContext, Logger, MeshMetrics, TraceContext } from '@flowmesh/runtime';
import { batchLog } from './batch-log.js';
import type { BatchPool } from './batch-pool.js';
import type { Faults } from './faults.js';
import type { Fencing } from './fencing.js';
import { startHeartbeats } from './heartbeats.js';
import type { FileRootLookup } from './file-roots.js';
import { readInline } from './inline-input.js';
import { openOutputPart } from './output-part.js';
import type { OutputPart } from './output-part.js';
import type { Slots } from './slots.js';
import type { SourceFiles } from './source-files.js';
import { corruptedCopy } from './worker/part-writer.js';
import { validateAssignment } from './validate-assignment.js';
import type { BatchFormat } from './validate-assignment.js';

export const DEFAULT_CHUNK_BYTES = 256 * 1024;
/** Attempts sent ahead (`may_wait`) that may wait per slot; more are refused with RESOURCE_EXHAUSTED. */
export const HELD_PER_SLOT = 16;
const REJECTS_PER_CHUNK = 1000;
const MAX_REJECT_RAW = 1024;

export interface ExecuteBatchDeps {
  executorId: string;
  slots: Slots;
  fencing: Fencing;
  pool: BatchPool;
  fileRoots: FileRootLookup;
  /** The jobs' source files, resolved in their roots and opened once per job (source-files.ts). */
  sourceFiles: SourceFiles;
  loadReferenceTable(name: string): Promise<unknown>;
  /** Revision of the reference tables now (0 without config-store). */
  tablesRevision(): number;
  pluginDir?: string;
  heartbeatMs: number;
  faults: Faults;
  /** False once the executor is draining: new batches are refused with UNAVAILABLE. */
  accepting(): boolean;
  /** Counts finished batches, for GetExecutorStatus. */
  onBatchEnd(outcome: 'ok' | 'failed' | 'cancelled'): void;
  /** Batches and records of this executor (a no-op meter when metrics are off). */
  metrics?: MeshMetrics;
  /** Per-batch lines: start at debug, failure at info (batch-log.ts). @default none */
  logger?: Logger;
  /** The result spool: output parts naming the `@spool` root are written here (issue 7). @default none */
  spoolDir?: string;
}

type Call = ServerDuplexStream<ExecuteBatchRequest, ExecuteBatchResponse>;

/** What one attempt needs from what carries it: an ExecuteBatch call, or a tag on an ExecuteBatches stream. */
export interface AttemptIo {
  /** Aborted when the attempt is cancelled (its call, or a `cancel` for its tag) or its carrier is gone. */
  signal: AbortSignal;
  /** Sends one response of the attempt, waiting while the carrier's buffer is full (backpressure). */
  send(msg: ExecuteBatchResponse): Promise<void>;
  /** The attempt's inline bytes (exactly `length` of them), when `assign.inline`. */
  readInline(length: number): Promise<Buffer>;
}

/** Runs one attempt to its trailer, or throws the error its caller should see as the attempt's status. */
export type AttemptHandler = (assign: BatchAssignment, io: AttemptIo, parent?: TraceContext) => Promise<void>;

export function createExecuteBatch(deps: ExecuteBatchDeps) {
  const handle = createAttemptHandler(deps);
  return async function executeBatch(call: Call, ctx: CallContext): Promise<void> {
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<ExecuteBatchRequest>;
    const first = await messages.next();
    const assign = first.done ? undefined : first.value.msg?.$case === 'assign' ? first.value.msg.assign : undefined;
    if (!assign) throw new InvalidArgumentError('assign', 'the first message of ExecuteBatch must be assign');
    await handle(assign, {
      signal: ctx.signal,
      send: (msg) => write(call, msg),
      readInline: (length) => readInline(messages, length, ctx.signal),
    });
  };
}

export function createAttemptHandler(deps: ExecuteBatchDeps): AttemptHandler {
  return async function handleAttempt(assign, io, parent) {
    const { format } = validateAssignment(assign);
    if (!deps.accepting()) throw new UnavailableError('executor is draining; send the batch elsewhere');

    const endAttempt = deps.fencing.admit(assign);
    let releaseSlot: (() => void) | undefined;
    let outcome: 'ok' | 'failed' | 'cancelled' = 'failed';
    const metrics = deps.metrics;
    const log = batchLog(deps.logger, assign);
    let trailer: BatchTrailer;
    try {
      releaseSlot = assign.mayWait ? await waitForSlot(deps, io) : deps.slots.acquire();
      log.started();
      metrics?.batch('started');
      metrics?.running(1);
      // On a stream, the span's parent is the context the coordinator sent with the assign.
      trailer = parent
        ? await withContext(parent, () => runInSpan(deps, io, assign, format))
        : await runInSpan(deps, io, assign, format);
      outcome = 'ok';
      metrics?.batch('done');
      metrics?.records({
        in: trailer.counts?.recordsIn,
        out: trailer.counts?.recordsOut,
        rejected: trailer.counts?.recordsRejected,
      });
    } catch (err) {
      if (io.signal.aborted) outcome = 'cancelled';
      log.failed(err, outcome === 'cancelled');
      if (releaseSlot) metrics?.batch('failed');
      throw err;
    } finally {
      if (releaseSlot) {
        metrics?.running(-1);
        releaseSlot();
        deps.onBatchEnd(outcome);
      }
      endAttempt();
    }
    // After the slot is free: a coordinator that counts the slot free on the trailer never finds it busy.
    await io.send({ msg: { $case: 'trailer', trailer } });
  };
}

/**
 * One span per attempt, a child of the ExecuteBatch server span (the coordinator's attempt span is its remote
 * parent, carried in the call metadata). A module function, not a closure per attempt: under tsx each named
 * closure costs a `__name` call (issue 7, target 4; libs/flow's run-batch.ts says more).
 */
function runInSpan(
  deps: ExecuteBatchDeps,
  io: AttemptIo,
  assign: BatchAssignment,
  format: BatchFormat,
): Promise<BatchTrailer> {
  // Tracing off: no span at all — the no-op one still cost a context switch, three async frames and an
  // attributes object per attempt (issue 7, target 4).
  if (!tracingActive()) return runAttempt(deps, io, assign, format);
  return inSpan('flowmesh.executor.batch', batchAttemptAttributes(assign, deps.executorId), async (span) => {
    const t = await runAttempt(deps, io, assign, format);
    span.setAttributes({ ...batchCountsAttributes(t.counts), 'flowmesh.bytes.out': t.counts?.bytesOut ?? 0 });
    return t;
  });
}

async function runAttempt(
  deps: ExecuteBatchDeps,
  io: AttemptIo,
  a: BatchAssignment,
  format: BatchFormat,
): Promise<BatchTrailer> {
  const startedAt = Date.now();
  const at = { jobId: a.jobId, batchIndex: a.batchIndex, attempt: a.attempt };
  const signal = io.signal;
  const bytes = a.inline
    ? await io.readInline(a.length)
    : await deps.sourceFiles.read(a.jobId, a.file!.root, a.file!.path, a.offset, a.length, signal);

  await io.send({ msg: { $case: 'started', started: { executorId: deps.executorId } } });

  if (deps.faults.has('crash', at)) {
    // Shortly after `started`, so the coordinator has seen the attempt begin (a crash mid-batch).
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);
    await untilAborted(signal);
  }
  if (deps.faults.has('hang', at)) await untilAborted(signal);
  if (deps.faults.has('fail', at)) throw new Error('injected fault: fail');

  let recordsDone = 0;
  let bytesOut = 0;
  let seq = 0;
  // With an output part, records go to a file under the sink root (or in the caller's spool) and only
  // metadata comes back, with each chunk's size so the part can be sent on in the same chunks.
  const part: OutputPart | undefined = a.outputPart ? await openPart(deps, a.outputPart) : undefined;
  const partChunkBytes: number[] = [];
  const partChunkRecords: number[] = [];
  let corruptPart = part !== undefined && deps.faults.has('corrupt-part', at);
  // A batch thread that writes the part itself reports its records through shared memory (batch-pool.ts).
  let partRecords = noRecords;
  const heartbeats = startHeartbeats(io, deps.heartbeatMs, () => recordsDone + partRecords());
  let result;
  try {
    result = await deps.pool.run(
      {
        flow: a.flow,
        flowRevision: a.flowRevision,
        flowSource: a.flowSource,
        tablesRevision: deps.tablesRevision(),
        pluginDir: deps.pluginDir,
        input: {
          bytes,
          format,
          // A private copy: the decoded header is a view into the whole request message.
          header: a.header.length > 0 ? new Uint8Array(a.header) : undefined,
          firstLine: a.firstLine || 1,
          firstRecord: a.firstRecord,
          batchIndex: a.batchIndex,
          vars: a.vars,
          globals: a.globals ?? {},
        },
        chunkBytes: a.chunkBytes || DEFAULT_CHUNK_BYTES,
        // The batch thread writes the part's chunks into its temp file itself (worker/part-writer.ts); a batch
        // that runs inline writes it through onChunk below.
        ...(part ? { output: { file: part.tempFile, corruptFirst: corruptPart } } : {}),
      },
      {
        signal,
        loadTable: deps.loadReferenceTable,
        watchProgress(read) {
          partRecords = read;
        },
        async onChunk(data, records) {
          recordsDone += records;
          bytesOut += data.length;
          if (part) {
            partChunkBytes.push(data.length);
            partChunkRecords.push(records);
            if (corruptPart && data.length > 0) {
              corruptPart = false;
              return part.write(corruptedCopy(data));
            }
            return part.write(data);
          }
          const chunk = {
            jobId: a.jobId,
            batchIndex: a.batchIndex,
            seq: seq++,
            recordCount: records,
            ...(a.encoding === RecordEncoding.RECORD_ENCODING_JSON_TEXT
              ? { data: Buffer.alloc(0), records: splitJsonl(data) }
              : { data, records: [] }),
          };
          await io.send({ msg: { $case: 'records', records: chunk } });
        },
      },
    );
    if (signal.aborted) throw new CancelledError('batch cancelled');
    if (!result.ok) {
      const { kind, message } = result.error;
      if (kind === 'aborted') throw new CancelledError('batch cancelled');
      if (kind === 'invalid-flow') throw new FailedPreconditionError(`flow ${a.flow}@${a.flowRevision}: ${message}`);
      throw new Error(`batch ${a.batchIndex} failed: ${message}`);
    }
    if (result.part) {
      partChunkBytes.push(...result.part.bytes);
      partChunkRecords.push(...result.part.records);
      for (const n of result.part.bytes) bytesOut += n;
    }
    await part?.commit();
  } catch (err) {
    await part?.discard();
    throw err;
  } finally {
    heartbeats.stop();
  }

  if (a.includeRejects && result.rejects.length > 0) {
    for (let i = 0; i < result.rejects.length; i += REJECTS_PER_CHUNK) {
      const rejects: Reject[] = result.rejects.slice(i, i + REJECTS_PER_CHUNK).map((r) => ({
        line: r.line,
        reason: r.reason,
        step: r.step,
        raw: r.raw.length > MAX_REJECT_RAW ? r.raw.slice(0, MAX_REJECT_RAW) : r.raw,
        batchIndex: a.batchIndex,
      }));
      await io.send({ msg: { $case: 'rejects', rejects: { jobId: a.jobId, batchIndex: a.batchIndex, rejects } } });
    }
  }

  const trailer: BatchTrailer = {
    jobId: a.jobId,
    batchIndex: a.batchIndex,
    attempt: a.attempt,
    epoch: a.epoch,
    counts: {
      recordsIn: result.counts.in,
      recordsOut: result.counts.out,
      recordsRejected: result.counts.rejected,
      recordsFiltered: result.counts.filtered,
      bytesIn: a.length,
      bytesOut,
    },
    chunks: result.chunks,
    checksum: deps.faults.has('corrupt-trailer', at) ? corrupt(result.checksum) : result.checksum,
    checksumAlgorithm: 'crc32',
    counterDeltas: result.counterDeltas,
    cacheSets: result.cacheSets,
    aggregates: toStruct(result.aggregates),
    durationMs: Date.now() - startedAt,
    executorId: deps.executorId,
    outputPart: a.outputPart,
    ...(part ? { partChunks: { bytes: partChunkBytes, records: partChunkRecords } } : {}),
  };
  return trailer;
}

/**
 * A slot for an attempt the coordinator sent ahead of time (its per-slot prefetch), waiting behind the ones
 * before it. It heartbeats while it waits, so a coordinator's silence watchdog does not fail it, and sends
 * `started` only once it runs (a crash before that is "never reached": no retry budget spent).
 */
async function waitForSlot(deps: ExecuteBatchDeps, io: AttemptIo): Promise<() => void> {
  if (deps.slots.busy() < deps.slots.total && deps.slots.waiting() === 0) return deps.slots.acquire();
  const heartbeats = startHeartbeats(io, deps.heartbeatMs, () => 0);
  try {
    return await deps.slots.wait(io.signal, deps.slots.total * HELD_PER_SLOT);
  } finally {
    heartbeats.stop();
  }
}

/** A spool part (issue 7) goes into the call's existing spool directory, without fsync; a sink part as before. */
function openPart(deps: ExecuteBatchDeps, ref: FileRef): Promise<OutputPart> {
  if (ref.root !== SPOOL_ROOT) return openOutputPart(deps.fileRoots, ref);
  const dir = deps.spoolDir;
  if (!dir) throw new FailedPreconditionError('this executor has no result spool; stream the records back');
  return openOutputPart(async (name) => (name === SPOOL_ROOT ? dir : undefined), ref, {
    durable: false,
    createDirs: false,
  }).catch((err: unknown) => {
    // The gateway removes a call's directory when the call ends: this attempt's job is over.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FailedPreconditionError(
        `spool part ${ref.path}: the caller's spool directory is gone (its call ended)`,
      );
    throw err;
  });
}

/** Records a batch thread has written to its part, before it reports any (a module function: see runInSpan). */
function noRecords(): number {
  return 0;
}

function splitJsonl(data: Buffer): string[] {
  const text = data.toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** google.protobuf.Struct holds an object; aggregates of another shape are wrapped. */
function toStruct(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return { value };
}

function corrupt(checksum: string): string {
  const last = checksum.at(-1) === '0' ? '1' : '0';
  return checksum.slice(0, -1) + last;
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new CancelledError('batch cancelled'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
