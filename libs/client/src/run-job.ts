// RunJob as an async iterable: send `start`, stream optional input with backpressure, then yield every
// response (accepted, records, rejects, progress, summary) as the caller pulls them — a slow consumer
// slows the job, nothing piles up here. A stream that ends without `summary` is an error, never a
// silently short result. When the job's coordinator dies mid-stream (UNAVAILABLE after `accepted`), the
// stream re-attaches to the job (WatchJob resume_results; another coordinator takes it over) and goes on
// with exactly the records not yet received (result-tracker.ts), so the consumer sees one uninterrupted result.
// On the gateway's machine, batches may come as references to spooled parts read here (local-parts.ts),
// passed on as the same `records` messages and acked once taken; the request side then stays open to the end.
import { Metadata, status, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { JobClient } from './service-clients.js';
import { toJobSpec, type JobSpecInput } from './job-spec.js';
import { createResultTracker } from './result-tracker.js';
import { createLocalParts, LocalPartError, localPartsRequest, type LocalParts } from './local-parts.js';
import { createReusedChunkMemory, type ChunkAreas } from './reused-chunk-memory.js';
import { coalescedAsRecords } from './coalesced-records.js';
import type { JobProgress, LocalPart, RecordChunk, RunJobRequest, RunJobResponse, WatchJobResponse } from '@flowmesh/contracts';
import { callOptions } from '@flowmesh/runtime';

/** What a caller sees: a local part is always passed on as its `records` messages. */
export type RunJobEvent = Exclude<NonNullable<RunJobResponse['msg']>, { $case: 'localPart' }>;

export interface RunJobOptions {
  /** Records for a flow whose source is `stream`: bytes in the flow's source format, chunked as given. */
  input?: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
  onProgress?: (progress: JobProgress) => void;
  signal?: AbortSignal;
  /** Whole-job deadline; none by default (jobs may run long). */
  timeoutMs?: number;
  /**
   * How long to keep re-attaching after the job's coordinator died (another must take the job over);
   * 0 turns re-attaching off. Jobs with streamed input cannot be resumed. @default 60000
   */
  reattachTimeoutMs?: number;
  /**
   * Let the mesh send several small batches in one message (issue 7, target 4): far less CPU per batch on
   * every hop for jobs of tiny batches. Events do not change: each such message is one `records` event
   * holding those batches' records. @default true
   */
  coalesceBatches?: boolean;
  /**
   * The caller borrows each `records` event's `data`: it is valid only until the caller pulls the next
   * event (copy what you keep), because results this client reads from a local part land in memory it
   * reuses for the next part. For a caller that writes or parses each chunk as it comes: fresh buffers for
   * every part cost ~0.2 µs/record of V8 garbage collection (issue 7 target 1). Results that come over
   * gRPC are fresh buffers either way. @default false (every event's data is the caller's to keep)
   */
  borrowBuffers?: boolean;
}

export class IncompleteStreamError extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId || '(unknown)'}: the result stream ended without a summary; the results are incomplete`);
    this.name = 'IncompleteStreamError';
  }
}

/** Largest input chunk sent in one message (well under the 16 MiB message limit). */
const INPUT_CHUNK_BYTES = 1024 * 1024;

export async function* runJob(
  client: JobClient,
  spec: JobSpecInput,
  opts: RunJobOptions = {},
  /** The result spool this client may share with the gateway (resolveSpoolDir); undefined: never. */
  spoolDir?: string,
  /** Where a call that borrows buffers takes its area from and gives it back (the client's, across calls). */
  areas?: ChunkAreas,
): AsyncGenerator<RunJobEvent> {
  const options = opts.timeoutMs
    ? callOptions({ timeoutMs: opts.timeoutMs, signal: opts.signal })
    : { signal: opts.signal };
  const metadata = new Metadata();
  const asked = await localPartsRequest(spoolDir);
  if (asked) metadata.set(...asked);
  const reused = asked && spoolDir && opts.borrowBuffers ? createReusedChunkMemory(areas?.take()) : undefined;
  const local: LocalParts | undefined = asked && spoolDir ? createLocalParts(spoolDir, reused?.memory) : undefined;
  const call: ClientDuplexStream<RunJobRequest, RunJobResponse> = client.runJob(metadata, options);
  call.on('error', () => {}); // surfaced through the iterator below
  if (local) call.once('metadata', (headers: Metadata) => local.onHeaders(headers));
  // The call's final status, for a part that vanished (see readLocal below).
  const ended = new Promise<StatusObject>((resolve) => call.once('status', resolve));
  const coalesce = opts.coalesceBatches ?? true;
  const start = { ...toJobSpec(spec), coalesceBatches: coalesce };
  call.write({ msg: { $case: 'start', start } });
  // Acks of local parts go on this side of the call: it is ended after the summary instead.
  const sending = sendInput(call, opts.input, !local);
  let jobId = '';
  let done = false;
  const tracker = createResultTracker();
  // One message of either stream: progress reported, repeats dropped (undefined), coalesced batches
  // passed on as one `records` event.
  const take = (msg: RunJobEvent): RunJobEvent | undefined => {
    if (msg.$case === 'accepted') jobId = msg.accepted.jobId;
    if (msg.$case === 'progress') opts.onProgress?.(msg.progress);
    if (msg.$case === 'summary') done = true;
    if (msg.$case === 'coalesced') {
      const records = coalescedAsRecords(msg.coalesced, tracker.acceptWhole(msg.coalesced.batchIndices));
      return records && { $case: 'records', records };
    }
    return msg.$case === 'records' || msg.$case === 'rejects' ? (tracker.accept(msg) ? msg : undefined) : msg;
  };
  // Iterated by hand, not with for-await: leaving a for-await after the summary destroys the stream with an
  // AbortError (its stack built through source maps) and the end() below then fails on the destroyed stream,
  // ~0.25 ms of CPU per job for nothing (issue 7 target 3). A call left early is still torn down (finally).
  const responses = (call as AsyncIterable<RunJobResponse>)[Symbol.asyncIterator]();
  try {
    try {
      for (let r = await responses.next(); !r.done; r = await responses.next()) {
        const res = r.value;
        if (res.msg?.$case === 'localPart') {
          const part = res.msg.localPart;
          if (!local)
            throw new LocalPartError(`job ${jobId}: the gateway sent a part reference this client did not ask for`);
          // Read and checked whole before any of its records is passed on.
          for (const records of await readLocal(local, part, ended)) {
            const event: RunJobEvent = { $case: 'records', records };
            const taken = take(event);
            if (taken) yield taken;
          }
          // Taken: the gateway may remove the part and let the job go on.
          call.write({ msg: { $case: 'ack', ack: { batchIndex: part.batchIndex } } });
          continue;
        }
        const msg = res.msg && take(res.msg);
        if (!msg) continue;
        yield msg;
        if (done) break;
      }
    } catch (err) {
      const reattachMs = opts.reattachTimeoutMs ?? 60_000;
      if (!jobId || opts.input || reattachMs <= 0 || (err as { code?: unknown }).code !== status.UNAVAILABLE) throw err;
      yield* reattach(client, jobId, tracker, take, () => done, reattachMs, opts.signal, err, coalesce);
    }
    if (!done) throw new IncompleteStreamError(jobId);
    await sending;
  } finally {
    // The consumer stopped early (break, throw, abort): hang up, which cancels the job in the mesh.
    if (!done) {
      call.cancel();
      void responses.return?.();
    } else if (local) call.end();
    sending.catch(() => {});
    // After the summary the caller holds no records data any more: the next call may read into the area.
    const area = done ? reused?.area() : undefined;
    if (area) areas?.give(area);
  }
}

/**
 * How long a client waits, after a part it was sent is missing, for the call to end with the reason: a
 * gateway that ends a call removes its directory (its process gone, or the caller too slow to ack within
 * the gateway's bound), so the status is on its way.
 */
const VANISHED_PART_GRACE_MS = 5_000;

/**
 * Reads a local part. A part that is missing while its call is failing (the gateway removes the call's
 * directory as it ends the call) is the call's failure, not lost data: the
 * batch was never passed on, so a re-attach delivers it. The call's status is thrown then, as a grpc-js
 * ServiceError would be — UNAVAILABLE re-attaches. A part missing from a call that goes on is DATA_LOSS.
 */
async function readLocal(local: LocalParts, part: LocalPart, ended: Promise<StatusObject>): Promise<RecordChunk[]> {
  try {
    return await local.read(part);
  } catch (err) {
    if (!isMissingFile(err)) throw err;
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([
      ended,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), VANISHED_PART_GRACE_MS))),
    ]);
    clearTimeout(timer);
    if (!end || end.code === status.OK) throw err;
    throw Object.assign(new Error(`${end.code} ${status[end.code]}: ${end.details}`), {
      code: end.code,
      details: end.details,
      metadata: end.metadata,
    });
  }
}

function isMissingFile(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
  }
  return false;
}

async function sendInput(
  call: ClientDuplexStream<RunJobRequest, RunJobResponse>,
  input: RunJobOptions['input'],
  endWhenSent: boolean,
): Promise<void> {
  if (input) {
    for await (const piece of input as AsyncIterable<Uint8Array | string>) {
      const buf =
        typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      for (let off = 0; off < buf.length; off += INPUT_CHUNK_BYTES) {
        const ok = call.write({
          msg: { $case: 'input', input: { data: buf.subarray(off, off + INPUT_CHUNK_BYTES), records: [] } },
        });
        if (!ok) await new Promise<void>((resolve) => call.once('drain', resolve));
      }
    }
    call.write({ msg: { $case: 'endInput', endInput: {} } });
  }
  if (endWhenSent) call.end();
}

/**
 * Re-attaches to a job whose coordinator died, until its summary: another coordinator takes the job over
 * when its owner is gone (the gateway answers UNAVAILABLE until one can), so retry with backoff, bounded.
 */
async function* reattach(
  client: JobClient,
  jobId: string,
  tracker: ReturnType<typeof createResultTracker>,
  take: (msg: RunJobEvent) => RunJobEvent | undefined,
  isDone: () => boolean,
  budgetMs: number,
  signal: AbortSignal | undefined,
  cause: unknown,
  coalesceBatches: boolean,
): AsyncGenerator<RunJobEvent> {
  const until = Date.now() + budgetMs;
  let waitMs = 100;
  let last = cause;
  while (!isDone()) {
    if (Date.now() > until || signal?.aborted) throw last;
    const watch = client.watchJob(
      { jobId, resumeResults: true, afterBatch: tracker.reattach(), coalesceBatches },
      new Metadata(),
      (signal ? { signal } : {}) as object,
    );
    watch.on('error', () => {});
    let received = false;
    try {
      for await (const res of watch as AsyncIterable<WatchJobResponse>) {
        received = true;
        const msg = res.msg && take(res.msg as RunJobEvent);
        if (!msg) continue;
        yield msg;
        if (isDone()) return;
      }
      if (!isDone()) throw new IncompleteStreamError(jobId);
    } catch (err) {
      if ((err as { code?: unknown }).code !== status.UNAVAILABLE) throw err;
      last = err;
      if (received) waitMs = 100;
      await new Promise((r) => setTimeout(r, Math.min(waitMs, Math.max(0, until - Date.now()))));
      waitMs = Math.min(waitMs * 2, 2000);
    } finally {
      watch.cancel();
    }
  }
}
