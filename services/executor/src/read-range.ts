// Reads exactly [offset, offset+length) of a file with positional reads (pread): no copy of the file, no
// shared file position, so many batches of one file can be read at once.
import { closeSync, openSync, read as pread, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { FailedPreconditionError } from '@flowmesh/runtime';

const preadAsync = promisify(pread);

/**
 * Ranges up to this size are read synchronously: open/pread/close from the page cache take microseconds
 * (a 90 KB range ~20 µs, 1 MiB ~200 µs), while three thread-pool round trips cost more CPU than the read
 * itself — the bulk of an executor's per-batch fs cost at thousands of tiny batches per second, and ~1 ms
 * of a small job's wall time on a loaded machine (issue 7, bench/README.md). 1 MiB, as the coordinator's
 * small-file path (file-source.ts); larger ranges stay asynchronous so a slow disk cannot stall the main
 * thread (heartbeats, other attempts on the stream) for long.
 */
export const SYNC_READ_MAX_BYTES = 1024 * 1024;

export async function readRange(file: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
  if (length <= SYNC_READ_MAX_BYTES) {
    signal?.throwIfAborted();
    const fd = openSync(file, 'r');
    try {
      return readRangeSync(fd, offset, length);
    } finally {
      closeSync(fd);
    }
  }
  const handle = await open(file, 'r');
  try {
    return await readRangeAsync(handle.fd, offset, length, signal);
  } finally {
    await handle.close();
  }
}

/** The range from an open descriptor on the thread pool (ranges above SYNC_READ_MAX_BYTES). */
export async function readRangeAsync(
  fd: number,
  offset: number,
  length: number,
  signal?: AbortSignal,
  into?: Buffer,
): Promise<Buffer> {
  // A fresh ArrayBuffer of exactly `length` bytes (not the shared pool), so it can be transferred to a worker;
  // or `into` (exactly `length` bytes over memory a batch thread gave back: input-buffers.ts).
  const buffer = into ?? Buffer.from(new ArrayBuffer(length));
  let filled = 0;
  while (filled < length) {
    signal?.throwIfAborted();
    const { bytesRead } = await preadAsync(fd, buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) throw endedEarly(offset, filled, length);
    filled += bytesRead;
  }
  return buffer;
}

/** The range from an open descriptor, synchronously (ranges up to SYNC_READ_MAX_BYTES). */
export function readRangeSync(fd: number, offset: number, length: number): Buffer {
  // A fresh ArrayBuffer of exactly `length` bytes (not the shared pool), so it can be transferred to a worker.
  const buffer = Buffer.from(new ArrayBuffer(length));
  let filled = 0;
  while (filled < length) {
    const bytesRead = readSync(fd, buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) throw endedEarly(offset, filled, length);
    filled += bytesRead;
  }
  return buffer;
}

export function endedEarly(offset: number, filled: number, length: number): FailedPreconditionError {
  return new FailedPreconditionError(
    `file ends at byte ${offset + filled}, before the end of the batch range ${offset}+${length} (file changed?)`,
  );
}
