// Reading one result part from the spool (issue 7): the gateway does it for callers elsewhere, a caller on
// the same machine does it itself (local hand-off). Either way the part is read whole and checked against
// what its executor reported — size, CRC-32, chunk layout — before any of it is used, so a caller never
// sees part of a batch that turns out corrupt (docs/guarantees.md). A part is one batch's output: the
// memory bound is one batch, as in the coordinator's reorder buffer.
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { RecordChunk } from '@flowmesh/contracts';
import { DataLossError } from '../errors.js';

/** What the executor reported of a part (the fields RecordsPart and LocalPart share). */
export interface PartLayout {
  jobId: string;
  batchIndex: number;
  bytes: number;
  /** CRC-32 of the whole part, hex. */
  checksum: string;
  chunkBytes: readonly number[];
  chunkRecords: readonly number[];
}

/**
 * The part at `file` as the record chunks its executor wrote, checked against `layout`. Throws
 * DataLossError whose message starts with `what` when the part is missing, short, long or corrupt, or its
 * chunks do not add up to it. Does not remove the file.
 */
export async function readCheckedPart(file: string, layout: PartLayout, what: string): Promise<RecordChunk[]> {
  const bytes = Number(layout.bytes);
  let buf: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      if (size !== bytes) throw new DataLossError(`${what} holds ${size} bytes, the executor reported ${bytes}`);
      // One positional read per call up to 2 GiB: the part is one batch's output.
      buf = Buffer.allocUnsafe(bytes);
      for (let at = 0; at < bytes;) {
        const { bytesRead } = await fh.read(buf, at, bytes - at, at);
        if (bytesRead === 0) throw new DataLossError(`${what} ended at ${at} of ${bytes} bytes`);
        at += bytesRead;
      }
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof DataLossError) throw err;
    throw new DataLossError(`${what} could not be read: ${(err as Error).message}`, { cause: err });
  }
  const digest = (crc32(buf) >>> 0).toString(16).padStart(8, '0');
  if (digest !== layout.checksum.toLowerCase())
    throw new DataLossError(`${what} fails its checksum (${digest}, the executor computed ${layout.checksum})`);
  const chunks: RecordChunk[] = [];
  let at = 0;
  for (let seq = 0; seq < layout.chunkBytes.length; seq++) {
    const size = layout.chunkBytes[seq]!;
    chunks.push({
      jobId: layout.jobId,
      batchIndex: layout.batchIndex,
      seq,
      recordCount: layout.chunkRecords[seq] ?? 0,
      data: buf.subarray(at, at + size),
      records: [],
    });
    at += size;
  }
  if (at !== bytes) throw new DataLossError(`${what}: its chunks hold ${at} of its ${bytes} bytes`);
  return chunks;
}
