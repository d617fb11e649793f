// A batch thread writing its batch's output part itself (issue 7 target 1): each chunk goes from the encoder
// straight into the part's temp file, instead of being posted to the main thread, written there through
// the libuv pool and credited back — a message, a thread hop and a few promises per 256 KiB chunk on both
// threads, for the same kernel copy. The main thread created the temp file (and checked it lies inside its
// root); it still commits (fsync for a sink's part, rename) or discards it.
//
// Synchronous writes: the thread has nothing else to do while its batch runs, and a write into the page
// cache is a copy. The file is opened as a FileHandle so that a thread terminated mid-batch (a plugin
// that ignores the abort) closes it when its environment goes; a plain fd would leak.
import { writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { PartLayout, TaskOutput } from './protocol.js';

export interface PartWriter {
  /** Appends one chunk (all of it) to the part; counts its records in `progress`. */
  write(chunk: Buffer, records: number): void;
  readonly layout: PartLayout;
  /** Closes the file (idempotent). */
  close(): Promise<void>;
}

export async function openPartWriter(output: TaskOutput, progress: Int32Array): Promise<PartWriter> {
  // r+: the main thread created the file; never create (or truncate) anything here.
  const fh = await open(output.file, 'r+');
  const layout: PartLayout = { bytes: [], records: [] };
  let corrupt = output.corruptFirst === true;
  let closed = false;
  return {
    layout,
    write(chunk, records) {
      let bytes = chunk;
      if (corrupt && chunk.length > 0) {
        corrupt = false;
        bytes = corruptedCopy(chunk);
      }
      for (let at = 0; at < bytes.length; ) at += writeSync(fh.fd, bytes, at, bytes.length - at);
      layout.bytes.push(chunk.length);
      layout.records.push(records);
      Atomics.add(progress, 0, records);
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

/**
 * The `corrupt-part` test fault: a copy of the chunk with its first byte flipped, so the part on disk differs
 * from what the checksum covers (a torn or bad write). Shared by this thread's writes and the main thread's
 * (a batch run inline, execute-batch.ts).
 */
export function corruptedCopy(chunk: Uint8Array): Buffer {
  const bad = Buffer.from(chunk);
  bad[0] = bad[0]! ^ 0x01;
  return bad;
}
