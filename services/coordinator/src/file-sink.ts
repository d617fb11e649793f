// A file sink: output (and rejects, as JSONL beside it) written to hidden temp files in the sink's root,
// renamed into place only when the job succeeds, removed when it does not — a half-written output file
// is never visible under its real name (issue 4, sink).
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeRecords, encodeCsv } from '@flowmesh/flow';
import type { FileRef, Reject } from '@flowmesh/contracts';
import { FailedPreconditionError, InvalidArgumentError } from '@flowmesh/runtime';
import { pathUnderRootForWrite } from './root-paths.js';

export interface FileSinkOptions {
  rootName: string;
  rootPath: string;
  writable: boolean;
  /** Path relative to the root, placeholders resolved. */
  path: string;
  format: 'jsonl' | 'csv';
  columns?: string[];
  jobId: string;
}

export interface FileSink {
  /** JSONL records as executors produce them. */
  writeRecords(jsonl: Buffer): Promise<void>;
  writeRejects(rejects: Reject[]): Promise<void>;
  /** Renames the temp files into place; returns where the output and rejects now are. */
  commit(): Promise<{ output: FileRef; rejects: FileRef }>;
  /** Removes the temp files (idempotent). */
  abort(): Promise<void>;
}

export async function openFileSink(opts: FileSinkOptions): Promise<FileSink> {
  if (!opts.writable) throw new FailedPreconditionError(`file root "${opts.rootName}" is not writable`);
  const target = await pathUnderRootForWrite(opts.rootName, opts.rootPath, opts.path);
  if (!target) throw new InvalidArgumentError('sink.path', `"${opts.path}" leaves file root "${opts.rootName}"`);
  await mkdir(dirname(target), { recursive: true });
  const rejectsTarget = `${target}.rejects.jsonl`;
  const tmp = join(dirname(target), `.${basename(target)}.${opts.jobId}.tmp`);
  const rejectsTmp = join(dirname(target), `.${basename(rejectsTarget)}.${opts.jobId}.tmp`);
  const out: FileHandle = await open(tmp, 'w');
  const rej: FileHandle = await open(rejectsTmp, 'w');
  let columns = opts.columns && opts.columns.length > 0 ? opts.columns : undefined;
  let headerWritten = false;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([out.close(), rej.close()]);
  };
  return {
    async writeRecords(jsonl) {
      if (opts.format === 'jsonl') {
        await out.write(jsonl);
        return;
      }
      const { records } = decodeRecords('jsonl', jsonl);
      if (records.length === 0) return;
      columns ??= Object.keys(records[0]!);
      await out.write(encodeCsv(records, columns, { header: !headerWritten }));
      headerWritten = true;
    },
    async writeRejects(rejects) {
      if (rejects.length === 0) return;
      await rej.write(
        rejects
          .map((r) => `${JSON.stringify({ line: r.line, reason: r.reason, step: r.step, raw: r.raw })}\n`)
          .join(''),
      );
    },
    async commit() {
      if (opts.format === 'csv' && !headerWritten && columns) await out.write(encodeCsv([], columns));
      await out.sync();
      await rej.sync();
      await close();
      await rename(rejectsTmp, rejectsTarget);
      await rename(tmp, target);
      const rel = opts.path;
      return {
        output: { root: opts.rootName, path: rel },
        rejects: { root: opts.rootName, path: `${rel}.rejects.jsonl` },
      };
    },
    async abort() {
      await close();
      await Promise.allSettled([rm(tmp, { force: true }), rm(rejectsTmp, { force: true })]);
    },
  };
}
