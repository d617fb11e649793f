// Reads exactly [offset, offset+length) of a file with positional reads (pread): no copy of the file, no
// shared file position, so many batches of one file can be read at once.
import { open } from 'node:fs/promises';
import { FailedPreconditionError } from '@flowmesh/runtime';

export async function readRange(file: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
  // A fresh ArrayBuffer of exactly `length` bytes (not the shared pool), so it can be transferred to a worker.
  const buffer = Buffer.from(new ArrayBuffer(length));
  const handle = await open(file, 'r');
  try {
    let filled = 0;
    while (filled < length) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) {
        throw new FailedPreconditionError(
          `file ends at byte ${offset + filled}, before the end of the batch range ${offset}+${length} (file changed?)`,
        );
      }
      filled += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}
