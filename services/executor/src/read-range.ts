// Reads exactly [offset, offset+length) of a file with positional reads (pread): no copy of the file, no
// shared file position, so many batches of one file can be read at once.
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { FailedPreconditionError } from '@flowmesh/runtime';

/**
 * Ranges up to this size are read synchronously: open/pread/close of a few KiB from the page cache take
 * microseconds, while three thread-pool round trips cost more CPU than the read itself — the bulk of an
 * executor's per-batch fs cost at thousands of tiny batches per second (issue 7, bench/README.md).
 * Larger ranges stay asynchronous so the main thread keeps heartbeating.
 */
export const SYNC_READ_MAX_BYTES = 64 * 1024;

export async function readRange(file: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
  // A fresh ArrayBuffer of exactly `length` bytes (not the shared pool), so it can be transferred to a worker.
  const buffer = Buffer.from(new ArrayBuffer(length));
  if (length <= SYNC_READ_MAX_BYTES) {
    signal?.throwIfAborted();
    const fd = openSync(file, 'r');
    try {
      let filled = 0;
      while (filled < length) {
        const bytesRead = readSync(fd, buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw endedEarly(offset, filled, length);
        filled += bytesRead;
      }
      return buffer;
    } finally {
      closeSync(fd);
    }
  }
  const handle = await open(file, 'r');
  try {
    let filled = 0;
    while (filled < length) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw endedEarly(offset, filled, length);
      filled += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}

function endedEarly(offset: number, filled: number, length: number): FailedPreconditionError {
  return new FailedPreconditionError(
    `file ends at byte ${offset + filled}, before the end of the batch range ${offset}+${length} (file changed?)`,
  );
}
