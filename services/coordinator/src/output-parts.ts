// Output parts of a JSONL file sink (issue 7, scale-out path): an executor that sees the sink's root writes
// each batch attempt's output to its own part file (fsynced, renamed into place when complete) and sends
// back only counts, so no record crosses gRPC or is decoded here. A one-file sink appends accepted parts to
// its temp file in batch order — a plain file-to-file copy —; a `parts` layout sink renames them into its
// directory (parts-sink.ts: metadata only). Every part left (losers and failed attempts included) is removed
// when the job commits or aborts.
import { closeSync, fstatSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import type { FileRef } from '@flowmesh/contracts';

export interface OutputParts {
  /** The file root executors must list to be given a part. */
  readonly root: string;
  /**
   * Where one attempt writes its output (relative to the root). The epoch is in the name, so an attempt of
   * a deposed owner (issue 6) can never replace a part of the new owner's attempt with the same number.
   */
  partFor(at: { index: number; attempt: number; epoch: number }): FileRef;
  /**
   * Appends an accepted part through `write` (the sink's own writer, so its byte count stays right) and
   * removes it. Fails when the part is not exactly `bytes` long — a lost or torn write is never committed.
   */
  append(ref: FileRef, bytes: number, write: (data: Buffer) => Promise<void>): Promise<void>;
  /**
   * The absolute path of one of this epoch's parts, checked to be exactly `bytes` long (a `parts` layout sink
   * renames it into its directory: parts-sink.ts). Fails for a ref that is not one of this job's parts.
   */
  take(ref: FileRef, bytes: number): string;
  /** Removes this epoch's parts directory (idempotent): what an owner that aborts may touch. */
  removeOwn(): Promise<void>;
  /** Removes the parts of this epoch and every earlier one (a committing owner; deposed owners' leftovers). */
  removeAll(): Promise<void>;
}

/** Copy buffer: large enough that the per-batch cost is a few syscalls, small enough to stay out of the heap's way. */
const COPY_BYTES = 1024 * 1024;
/**
 * Parts up to this size are read with synchronous calls: five thread-pool round trips cost ~340 µs of CPU
 * per part, the blocking calls ~tens of µs for a file this small in the page cache (measured with
 * test/output-parts.bench.ts; the executor reads small ranges the same way).
 */
const SYNC_BYTES = 64 * 1024;

export function createOutputParts(opts: {
  rootName: string;
  /** Absolute path of the sink's target file on this coordinator. */
  target: string;
  /** The sink path relative to the root, as executors resolve it. */
  path: string;
  jobId: string;
  /** Ownership epoch of the job (issue 6): each owner has its own directory. @default 1 */
  epoch?: number;
}): OutputParts {
  const epoch = opts.epoch ?? 1;
  // Hidden beside the target, like the sink's temp files: never mistaken for output.
  const dirName = (e: number) => `.${basename(opts.target)}.${opts.jobId}${e > 1 ? `.e${e}` : ''}.parts`;
  const relDir = posix.join(posix.dirname(opts.path), dirName(epoch));
  const absDirOf = (e: number) => join(dirname(opts.target), dirName(e));
  const absDir = absDirOf(epoch);
  const fileName = (at: { index: number; attempt: number; epoch: number }) =>
    `b${at.index}-e${at.epoch}-a${at.attempt}.jsonl`;
  const fileOf = (ref: FileRef): string => {
    if (ref.root !== opts.rootName || posix.dirname(ref.path) !== relDir)
      throw new Error(`output part ${ref.root}:${ref.path} is not one of this job's parts`);
    return join(absDir, posix.basename(ref.path));
  };
  return {
    root: opts.rootName,
    partFor: (at) => ({ root: opts.rootName, path: posix.join(relDir, fileName(at)) }),
    take(ref, bytes) {
      const file = fileOf(ref);
      // Blocking, like readSmall: a stat of a file just written is microseconds; through the thread pool it
      // costs a round trip of the coordinator's CPU per batch, which is all a parts sink spends on a batch.
      const { size } = statSync(file);
      if (size !== bytes) throw new Error(`output part ${ref.path} holds ${size} bytes, the executor reported ${bytes}`);
      return file;
    },
    async append(ref, bytes, write) {
      const file = fileOf(ref);
      if (bytes <= SYNC_BYTES) {
        await write(readSmall(file, ref.path, bytes));
        unlinkSync(file);
        return;
      }
      const fh = await open(file, 'r');
      try {
        const { size } = await fh.stat();
        if (size !== bytes)
          throw new Error(`output part ${ref.path} holds ${size} bytes, the executor reported ${bytes}`);
        const buf = Buffer.allocUnsafe(Math.min(COPY_BYTES, Math.max(1, size)));
        for (let at = 0; at < size;) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - at), at);
          if (bytesRead === 0) throw new Error(`output part ${ref.path} ended at ${at} of ${size} bytes`);
          // `write` resolves once the bytes are written, so the buffer can be reused.
          await write(buf.subarray(0, bytesRead));
          at += bytesRead;
        }
      } finally {
        await fh.close();
      }
      await rm(file, { force: true });
    },
    removeOwn: () => rm(absDir, { recursive: true, force: true }),
    async removeAll() {
      for (let e = 1; e <= epoch; e++) await rm(absDirOf(e), { recursive: true, force: true });
    },
  };
}

/** The whole of a small part, checked to be exactly `bytes` long. */
function readSmall(file: string, name: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size !== bytes) throw new Error(`output part ${name} holds ${size} bytes, the executor reported ${bytes}`);
    const buf = Buffer.allocUnsafe(size);
    for (let at = 0; at < size;) {
      const n = readSync(fd, buf, at, size - at, at);
      if (n === 0) throw new Error(`output part ${name} ended at ${at} of ${size} bytes`);
      at += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}
