// A file source: the file under its root (never outside it), its header read once, batches planned
// incrementally by offset and length, and ranges read back for inline sends and local runs.
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
}

export interface FileSource extends BatchSource {
  close(): Promise<void>;
}

export async function openFileSource(opts: FileSourceOptions): Promise<FileSource> {
  const full = await pathUnderRoot(opts.rootName, opts.rootPath, opts.path);
  const fh: FileHandle = await open(full, 'r');
  try {
    const { size } = await fh.stat();
    const info = await readHeader(fh, opts.format, { delimiter: opts.delimiter, quote: opts.quote });
    const plan = planBatches(fh, {
      format: opts.format,
      dataOffset: info.dataOffset,
      firstLine: info.firstLine,
      ...(opts.batchBytes !== undefined ? { batchBytes: opts.batchBytes } : {}),
      ...(opts.batchRecords !== undefined ? { batchRecords: opts.batchRecords } : {}),
      quote: opts.quote,
      delimiter: opts.delimiter,
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
