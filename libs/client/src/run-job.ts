// RunJob as an async iterable: send `start`, stream optional input with backpressure, then yield every
// response (accepted, records, rejects, progress, summary) as the caller pulls them — a slow consumer
// slows the job, nothing piles up here. A stream that ends without `summary` is an error, never a
// silently short result.
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import type { JobClient } from './service-clients.js';
import { toJobSpec, type JobSpecInput } from './job-spec.js';
import type { JobProgress, RunJobRequest, RunJobResponse } from '@flowmesh/contracts';
import { callOptions } from '@flowmesh/runtime';

export type RunJobEvent = NonNullable<RunJobResponse['msg']>;

export interface RunJobOptions {
  /** Records for a flow whose source is `stream`: bytes in the flow's source format, chunked as given. */
  input?: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
  onProgress?: (progress: JobProgress) => void;
  signal?: AbortSignal;
  /** Whole-job deadline; none by default (jobs may run long). */
  timeoutMs?: number;
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
): AsyncGenerator<RunJobEvent> {
  const options = opts.timeoutMs
    ? callOptions({ timeoutMs: opts.timeoutMs, signal: opts.signal })
    : { signal: opts.signal };
  const call: ClientDuplexStream<RunJobRequest, RunJobResponse> = client.runJob(new Metadata(), options);
  call.on('error', () => {}); // surfaced through the iterator below
  const start = toJobSpec(spec);
  call.write({ msg: { $case: 'start', start } });
  const sending = sendInput(call, opts.input);
  let jobId = '';
  let done = false;
  try {
    for await (const res of call as AsyncIterable<RunJobResponse>) {
      const msg = res.msg;
      if (!msg) continue;
      if (msg.$case === 'accepted') jobId = msg.accepted.jobId;
      if (msg.$case === 'progress') opts.onProgress?.(msg.progress);
      if (msg.$case === 'summary') done = true;
      yield msg;
      if (done) break;
    }
    if (!done) throw new IncompleteStreamError(jobId);
    await sending;
  } finally {
    // The consumer stopped early (break, throw, abort): hang up, which cancels the job in the mesh.
    if (!done) call.cancel();
    sending.catch(() => {});
  }
}

async function sendInput(
  call: ClientDuplexStream<RunJobRequest, RunJobResponse>,
  input: RunJobOptions['input'],
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
  call.end();
}
