// Reading one result part from the spool (issue 7): the gateway does it for callers elsewhere, a caller on
// the same machine does it itself (local hand-off). Either way the part is read whole and checked against
// what its executor reported — size, CRC-32, chunk layout — before any of it is used, so a caller never
// sees part of a batch that turns out corrupt (docs/guarantees.md). A part is one batch's output: the
// memory bound is one batch, as in the coordinator's reorder buffer.
//
// Each chunk is read into a buffer of its own (preadv into all of them): what a caller keeps of one chunk
// holds that chunk's memory, not the whole part's, and chunk-sized allocations are reused by the allocator
// instead of ~11 MB of fresh pages per part (page faults, issue 7 target 1).
import { closeSync, fstatSync, openSync, readvSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { RecordChunk } from '@flowmesh/contracts';
import { createChecksum } from '@flowmesh/flow/checksum';
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
 * Where a part's chunks are read: one buffer per chunk size given (sizes already checked against the part).
 * The default, `freshChunkBuffers`, gives new buffers the caller owns; a caller that consumes each part
 * before reading the next may pass views into memory it reuses (the client's `borrowBuffers`).
 */
export type ChunkMemory = (chunkBytes: readonly number[]) => Buffer[];

export const freshChunkBuffers: ChunkMemory = (chunkBytes) => chunkBytes.map((chunk) => Buffer.allocUnsafe(chunk));

/**
 * The part at `file` as the record chunks its executor wrote, checked against `layout`. Throws
 * DataLossError whose message starts with `what` when the part is missing, short, long or corrupt, or its
 * chunks do not add up to it. Does not remove the file.
 */
export async function readCheckedPart(
  file: string,
  layout: PartLayout,
  what: string,
  memory: ChunkMemory = freshChunkBuffers,
): Promise<RecordChunk[]> {
  const bytes = Number(layout.bytes);
  let buffers: Buffer[];
  try {
    if (bytes <= SYNC_READ_MAX_BYTES) {
      buffers = readSmallPart(file, layout, what, memory);
    } else {
      const fh = await open(file, 'r');
      try {
        const { size } = await fh.stat();
        buffers = chunkBuffers(size, layout, what, memory);
        const fill = new Filling(buffers, bytes, what);
        while (fill.left()) fill.advance((await fh.readv(fill.views(), fill.at)).bytesRead);
      } finally {
        await fh.close();
      }
    }
  } catch (err) {
    if (err instanceof DataLossError) throw err;
    throw new DataLossError(`${what} could not be read: ${(err as Error).message}`, { cause: err });
  }
  return checkedChunks(buffers, layout, what);
}

/**
 * Parts up to this size are read with blocking calls (issue 7 target 3): open, fstat, read and close through
 * the thread pool were four round trips on a 1,000-record job's path (~120 KB part), for ~0.1 ms of
 * syscalls; as for the executor's batch reads (read-range.ts), a short block beats four hand-offs.
 */
const SYNC_READ_MAX_BYTES = 1024 * 1024;

function readSmallPart(file: string, layout: PartLayout, what: string, memory: ChunkMemory): Buffer[] {
  const fd = openSync(file, 'r');
  try {
    const buffers = chunkBuffers(fstatSync(fd).size, layout, what, memory);
    const fill = new Filling(buffers, Number(layout.bytes), what);
    while (fill.left()) fill.advance(readvSync(fd, fill.views(), fill.at));
    return buffers;
  } finally {
    closeSync(fd);
  }
}

/** One buffer per chunk of the layout, once the file's size and the chunks agree with the part's size. */
function chunkBuffers(size: number, layout: PartLayout, what: string, memory: ChunkMemory): Buffer[] {
  const bytes = Number(layout.bytes);
  if (size !== bytes) throw new DataLossError(`${what} holds ${size} bytes, the executor reported ${bytes}`);
  let sum = 0;
  for (const chunk of layout.chunkBytes) sum += chunk;
  if (sum !== bytes) throw new DataLossError(`${what}: its chunks hold ${sum} of its ${bytes} bytes`);
  return memory(layout.chunkBytes);
}

/** Buffers per preadv call (IOV_MAX is 1024 on Linux). */
const MAX_IOVECS = 1024;

/** Where a series of preadv calls filling `buffers` from the start of the file stands. */
class Filling {
  /** Bytes read so far: the file position of the next read. */
  at = 0;
  /** The first buffer not yet full, and the bytes already in it. */
  private i = 0;
  private into = 0;
  constructor(
    private readonly buffers: Buffer[],
    private readonly bytes: number,
    private readonly what: string,
  ) {}
  left(): boolean {
    return this.at < this.bytes;
  }
  views(): Buffer[] {
    const first = this.buffers[this.i]!;
    return [this.into > 0 ? first.subarray(this.into) : first, ...this.buffers.slice(this.i + 1, this.i + MAX_IOVECS)];
  }
  advance(bytesRead: number): void {
    if (bytesRead === 0) throw new DataLossError(`${this.what} ended at ${this.at} of ${this.bytes} bytes`);
    this.at += bytesRead;
    // Step past the buffers this read filled (zero-sized ones too).
    let left = bytesRead + this.into;
    while (this.i < this.buffers.length && left >= this.buffers[this.i]!.length) left -= this.buffers[this.i++]!.length;
    this.into = left;
  }
}

/** The part's chunks, once their CRC-32 matches the executor's. */
function checkedChunks(buffers: Buffer[], layout: PartLayout, what: string): RecordChunk[] {
  const checksum = createChecksum();
  for (const buf of buffers) checksum.update(buf);
  const digest = checksum.digest();
  if (digest !== layout.checksum.toLowerCase())
    throw new DataLossError(`${what} fails its checksum (${digest}, the executor computed ${layout.checksum})`);
  return buffers.map((data, seq) => ({
    jobId: layout.jobId,
    batchIndex: layout.batchIndex,
    seq,
    recordCount: layout.chunkRecords[seq] ?? 0,
    data,
    records: [],
  }));
}
