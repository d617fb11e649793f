// A file source: the file under its root (never outside it), its header read once, batches planned
// incrementally by offset and length, and ranges read back for inline sends and local runs.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { planBatches, readHeader } from '@flowmesh/flow';
import type { RecordFormat } from '@flowmesh/flow';
import { FailedPreconditionError } from '@flowmesh/runtime';
import type { BatchSource } from './job-driver.js';
import { pathUnderRoot } from './root-paths.js';

export interface FileSourceOptions {
  rootName: string;
  /** Absolute directory of the root (from config-store). */
  rootPath: string;
  /** Path relative to the root, placeholders resolved. */
  path: string;
  format: RecordFormat;
  delimiter: string;
  quote: string;
  batchBytes?: number;
  batchRecords?: number;
  /** Slots the batches run on: the last ones shrink so they finish together (0 or 1: all full size). */
  planSlots?: number;
}

export interface FileSource extends BatchSource {
  close(): Promise<void>;
}

/**
 * Files up to this size are read with blocking calls (from the page cache: microseconds), so a small job
 * does not wait for a thread-pool round trip per open, stat, header read, planning read and close (issue 7);
 * larger files keep the asynchronous path, where a few round trips do not matter and a slow disk must not
 * stall the event loop.
 */
const SYNC_MAX_BYTES = 1024 * 1024;
/** The planner's read size (it holds one chunk). */
const PLAN_CHUNK_BYTES = 1024 * 1024;

/** The part of a FileHandle the header reader and the planner use, over a descriptor read synchronously. */
function syncHandle(fd: number): FileHandle {
  const handle: Pick<FileHandle, 'read' | 'close'> = {
    read: (async (buffer: Buffer, offset: number, length: number, position: number) => ({
      bytesRead: readSync(fd, buffer, offset, length, position),
      buffer,
    })) as FileHandle['read'],
    close: async () => closeSync(fd),
  };
  return handle as FileHandle;
}

async function openSmallOrLarge(full: string): Promise<{ fh: FileHandle; size: number }> {
  const fd = openSync(full, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  if (size <= SYNC_MAX_BYTES) return { fh: syncHandle(fd), size };
  closeSync(fd);
  const fh = await open(full, 'r');
  try {
    return { fh, size: (await fh.stat()).size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

export async function openFileSource(opts: FileSourceOptions): Promise<FileSource> {
  const full = pathUnderRoot(opts.rootName, opts.rootPath, opts.path);
  const { fh, size } = await openSmallOrLarge(full);
  try {
    const info = await readHeader(fh, opts.format, { delimiter: opts.delimiter, quote: opts.quote });
    const plan = planBatches(fh, {
      format: opts.format,
      dataOffset: info.dataOffset,
      firstLine: info.firstLine,
      // A small file needs no 1 MiB buffer per job (+1: the read that finds the end).
      chunkBytes: Math.max(1, Math.min(PLAN_CHUNK_BYTES, size - info.dataOffset + 1)),
      ...(opts.batchBytes !== undefined ? { batchBytes: opts.batchBytes } : {}),
      ...(opts.batchRecords !== undefined ? { batchRecords: opts.batchRecords } : {}),
      quote: opts.quote,
      delimiter: opts.delimiter,
      ...(opts.planSlots !== undefined && opts.planSlots > 1 ? { tail: { slots: opts.planSlots, endOffset: size } } : {}),
    });
    let closed = false;
    return {
      header: () => (opts.format === 'csv' ? info.header : Buffer.alloc(0)),
      bytesTotal: size,
      file: { root: opts.rootName, path: opts.path },
      async next() {
        const r = await plan.next();
        if (r.done) return undefined;
        return { ...r.value, firstRecord: 0 };
      },
      async read(offset, length) {
        const buf = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await fh.read(buf, filled, length - filled, offset + filled);
          if (bytesRead === 0)
            throw new FailedPreconditionError(`file ended at ${offset + filled}, the batch needs ${offset + length}`);
          filled += bytesRead;
        }
        return buf;
      },
      async close() {
        if (closed) return;
        closed = true;
        await plan.return(undefined);
        await fh.close();
      },
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}
