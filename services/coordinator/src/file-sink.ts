// A file sink: output (and rejects, as JSONL beside it) written to hidden temp files in the sink's root,
// renamed into place only when the job succeeds, removed when it does not — a half-written output file
// is never visible under its real name (issue 4, sink).
// Failover (issue 6): the temp files are named by the job's ownership epoch, so a deposed coordinator that
// still writes never touches the new owner's files; the new owner copies the checkpointed prefix of the
// old epoch's files (`restore`) and appends the batches it runs.
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeRecords, encodeCsv } from '@flowmesh/flow';
import type { FileRef, Reject } from '@flowmesh/contracts';
import { FailedPreconditionError, InvalidArgumentError } from '@flowmesh/runtime';
import { createOutputParts, type OutputParts } from './output-parts.js';
import { openPartsSink } from './parts-sink.js';
import { pathUnderRootForWrite } from './root-paths.js';
import { appendRejects, pathExists, restorePrefix, sinkRefs, sinkTempPath, writeAll } from './sink-files.js';

export interface FileSinkOptions {
  rootName: string;
  rootPath: string;
  writable: boolean;
  /** Path relative to the root, placeholders resolved. */
  path: string;
  format: 'jsonl' | 'csv';
  columns?: string[];
  jobId: string;
  /** Ownership epoch of the job (names the temp files). @default 1 */
  epoch?: number;
  /** `file`: one output file; `parts`: a directory of one JSONL file per batch (parts-sink.ts). @default 'file' */
  layout?: 'file' | 'parts';
}

export interface FileSink {
  /** JSONL records of batch `index` as executors produce them, batches in input order. */
  writeRecords(jsonl: Buffer, index: number): Promise<void>;
  /** Batch `index`'s output part, written by its executor (`parts`), `bytes` long: appended or renamed in. */
  acceptPart(index: number, ref: FileRef, bytes: number): Promise<void>;
  writeRejects(rejects: Reject[]): Promise<void>;
  /** Renames the temp files into place; returns where the output and rejects now are. */
  commit(): Promise<{ output: FileRef; rejects: FileRef }>;
  /** Removes the temp files (idempotent). */
  abort(): Promise<void>;
  /** Bytes written so far to the output and rejects temp files. */
  lengths(): { output: number; rejects: number };
  /** fsync of both temp files, so the lengths a checkpoint records survive a crash of the machine. */
  sync(): Promise<void>;
  /**
   * Starts from the first `output`/`rejects` bytes of epoch `fromEpoch`'s temp files (what a checkpoint
   * recorded as written for its done batches; anything after is a batch that was not done) and removes
   * them. Call before any write.
   */
  restore(fromEpoch: number, output: number, rejects: number): Promise<void>;
  /** Where commit puts the output and rejects. */
  target(): { output: FileRef; rejects: FileRef };
  /** True when the target already exists and no temp file of `epoch` does: a commit that already happened. */
  committedBy(epoch: number): Promise<boolean>;
  /** JSONL sinks: where executors may write batch outputs themselves (issue 7, scale-out path). */
  parts?: OutputParts;
}

export async function openFileSink(opts: FileSinkOptions): Promise<FileSink> {
  if (!opts.writable) throw new FailedPreconditionError(`file root "${opts.rootName}" is not writable`);
  const target = await pathUnderRootForWrite(opts.rootName, opts.rootPath, opts.path);
  if (!target) throw new InvalidArgumentError('sink.path', `"${opts.path}" leaves file root "${opts.rootName}"`);
  await mkdir(dirname(target), { recursive: true });
  if (opts.layout === 'parts') {
    if (opts.format !== 'jsonl') throw new InvalidArgumentError('sink.layout', 'a parts layout needs format jsonl');
    return openPartsSink(opts, target);
  }
  const rejectsTarget = `${target}.rejects.jsonl`;
  const tmpOf = (file: string, epoch: number): string => sinkTempPath(target, file, opts.jobId, epoch);
  const epoch = opts.epoch ?? 1;
  const tmp = tmpOf(target, epoch);
  const rejectsTmp = tmpOf(rejectsTarget, epoch);
  const out: FileHandle = await open(tmp, 'w');
  const rej: FileHandle = await open(rejectsTmp, 'w');
  let outBytes = 0;
  let rejBytes = 0;
  let columns = opts.columns && opts.columns.length > 0 ? opts.columns : undefined;
  let headerWritten = false;
  const parts =
    opts.format === 'jsonl'
      ? createOutputParts({ rootName: opts.rootName, target, path: opts.path, jobId: opts.jobId, epoch })
      : undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([out.close(), rej.close()]);
  };
  const sink: FileSink = {
    ...(parts ? { parts } : {}),
    async acceptPart(index, ref, bytes) {
      if (!parts) throw new Error('a CSV sink takes no output parts');
      await parts.append(ref, bytes, (b) => sink.writeRecords(b, index));
    },
    async writeRecords(jsonl) {
      if (opts.format === 'jsonl') {
        await writeAll(out, jsonl, outBytes);
        outBytes += jsonl.length;
        return;
      }
      const { records } = decodeRecords('jsonl', jsonl);
      if (records.length === 0) return;
      columns ??= Object.keys(records[0]!);
      const csv = Buffer.from(encodeCsv(records, columns, { header: !headerWritten }));
      await writeAll(out, csv, outBytes);
      outBytes += csv.length;
      headerWritten = true;
    },
    async writeRejects(rejects) {
      rejBytes = await appendRejects(rej, rejects, rejBytes);
    },
    lengths: () => ({ output: outBytes, rejects: rejBytes }),
    async sync() {
      await Promise.all([out.sync(), rej.sync()]);
    },
    async restore(fromEpoch, output, rejects) {
      await restorePrefix(tmpOf(target, fromEpoch), out, output, fromEpoch !== epoch);
      await restorePrefix(tmpOf(rejectsTarget, fromEpoch), rej, rejects, fromEpoch !== epoch);
      outBytes = output;
      rejBytes = rejects;
      // A CSV sink wrote its header with the first batch: the restored prefix has it.
      if (output > 0) headerWritten = true;
    },
    async committedBy(e) {
      return (await pathExists(target)) && !(await pathExists(tmpOf(target, e)));
    },
    async commit() {
      if (opts.format === 'csv' && !headerWritten && columns) await out.write(encodeCsv([], columns));
      await out.sync();
      await rej.sync();
      await close();
      await rename(rejectsTmp, rejectsTarget);
      await rename(tmp, target);
      await parts?.removeAll();
      return sinkRefs(opts.rootName, opts.path);
    },
    target: () => sinkRefs(opts.rootName, opts.path),
    async abort() {
      await close();
      await Promise.allSettled([rm(tmp, { force: true }), rm(rejectsTmp, { force: true }), parts?.removeOwn()]);
    },
  };
  return sink;
}
